#!/usr/bin/python3
"""An independent check of a NexusChain ledger store, written from docs/LEDGER.md alone
(its "Byte formats" section) with Python's hashlib, python3-cryptography (Ed25519) and
python3-plyvel (LevelDB): no code of the project.

Checks every block's encoding, hash chain, Merkle root, header signature, each record's
signature (alone or in a batch), each commit certificate against the ledger keys the
members records bind, each governance record's approvals (more than two thirds of the
ledger keys, for this chain, from a height ahead), each state root against the balances
the payments make, the stored balances, the transaction index and the head. It does not
replay the contract's rules (who is paid what): `nexus-node ledger verify` does.

usage: scripts/ledger_check.py STORE_DIR     (a store no process holds open)
Prints "ledger OK: B blocks, T transactions" and the first block's hash, or "ledger BAD:
what" and exits 1.
"""
import hashlib
import os
import shutil
import struct
import sys
import tempfile

import plyvel
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = 4
TAG = b"nexuschain consensus v1"
GOVERNANCE_TAG = b"nexuschain governance v1"
BATCH_TAG = b"nexuschain batch of transactions v1"
ZERO_KEY = bytes(32)
ZERO_SIG = bytes(64)
PAYMENTS = {4: +1, 5: -1, 6: -1}  # reward, penalty, charge: sign of the balance change
MEMBER, RULES, SUBMISSION, GOVERNANCE = 9, 10, 1, 13
LEDGER_ROLE = 16


class Bad(Exception):
    pass


def sha256(b):
    return hashlib.sha256(b).digest()


def text(b):
    return struct.pack("<I", len(b)) + b


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise Bad("truncated bytes")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def i64(self):
        return struct.unpack("<q", self.take(8))[0]

    def bytes_(self, limit=4096):
        n = self.u32()
        if n > limit:
            raise Bad("a field of %d bytes" % n)
        return self.take(n)

    def done(self):
        return self.pos == len(self.data)


def verify(key, message, sig):
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(sig, message)
        return True
    except (InvalidSignature, ValueError):
        return False


def merkle_root(items):
    level = [sha256(b"\x00" + i) for i in items]
    if not level:
        return sha256(b"")
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            nxt.append(sha256(b"\x01" + level[i] + level[i + 1]))
        if len(level) % 2:
            nxt.append(level[-1])  # no sibling: moves up unchanged
        level = nxt
    return level[0]


def read_record(r):
    start = r.pos
    t = {}
    if r.u8() != FORMAT:
        raise Bad("a record of another format")
    t["kind"] = r.u8()
    if not 1 <= t["kind"] <= GOVERNANCE:
        raise Bad("a record of unknown kind %d" % t["kind"])
    t["task_id"] = r.u64()
    r.u32()  # shard
    r.u32()  # attempt
    t["worker"] = r.bytes_()
    t["validator"] = r.bytes_()
    t["account"] = r.bytes_()
    r.u64()  # work units
    r.take(32)  # result
    if r.u8() > 1:
        raise Bad("a valid flag other than 0 or 1")
    t["amount"] = r.i64()
    r.u64()  # time
    t["data"] = r.bytes_(65536)
    t["signer"] = r.take(32)
    body = r.data[start:r.pos]
    t["body"] = body
    t["id"] = sha256(body)
    t["sig"] = r.take(64)
    batched = r.u8()
    if batched > 1:
        raise Bad("a batch flag other than 0 or 1")
    t["proof"] = None
    if batched:
        steps = r.u8()
        if steps > 32:
            raise Bad("a proof of %d steps" % steps)
        t["proof"] = []
        for _ in range(steps):
            sibling = r.take(32)
            left = r.u8()
            if left > 1:
                raise Bad("a proof step side other than 0 or 1")
            t["proof"].append((sibling, left))
    return t


def unnumbered(t):
    # A submission signed the older way: its body with task id 0 (after format and kind).
    return t["body"][:2] + bytes(8) + t["body"][10:]


def record_signed(t):
    if t["proof"] is None:
        if verify(t["signer"], t["body"], t["sig"]):
            return True
        return t["kind"] == SUBMISSION and verify(t["signer"], unnumbered(t), t["sig"])
    node = sha256(b"\x00" + t["id"])
    for sibling, left in t["proof"]:
        node = sha256(b"\x01" + (sibling + node if left else node + sibling))
    return verify(t["signer"], text(BATCH_TAG) + node, t["sig"])


def proposers(t):
    return t["kind"] in PAYMENTS or t["kind"] == RULES or (
        t["kind"] == MEMBER and t["sig"] == ZERO_SIG)


def check_governance(t, first, height, ledger_keys, changes):
    """Raises Bad unless the governance record `t` is approved by more than two thirds of
    `ledger_keys` for the chain named `first`, as its next change, from a height after
    `height` no change in `changes` (height -> rules) names, with rules in their bounds.
    Records the change in `changes`."""
    r = Reader(t["data"])
    chain, sequence, effective = r.take(32), r.u64(), r.u64()
    rules = r.bytes_(28)
    change = t["data"][:r.pos]
    count = r.u32()
    if count > 680:
        raise Bad("a governance record of %d approvals" % count)
    approvals = [(r.take(32), r.take(64)) for _ in range(count)]
    if not r.done() or len(rules) != 28:
        raise Bad("a governance record with trailing bytes, or rules of another length")
    if chain != first or sequence != len(changes) or effective <= height:
        raise Bad("a governance record for another chain, out of sequence, or for a height "
                  "not ahead")
    if effective in [h for h, _ in changes]:
        raise Bad("a second rules change for height %d" % effective)
    _, rate, validator_share, penalty, audit_share = struct.unpack("<IqIqI", rules)
    if not (0 < rate <= 10**9 and validator_share <= 1000 and audit_share <= 1000
            and 0 <= penalty <= 10**15):
        raise Bad("a governance record of rules out of their bounds")
    changes.append((effective, rules))
    keys = set()
    for key, sig in approvals:
        if key not in ledger_keys or key in keys:
            raise Bad("a governance approval of a key without the ledger role, or twice")
        if not verify(key, text(GOVERNANCE_TAG) + change, sig):
            raise Bad("a governance approval does not verify")
        keys.add(key)
    if 3 * len(keys) <= 2 * len(ledger_keys):
        raise Bad("a governance record approved by %d of %d ledger keys" %
                  (len(keys), len(ledger_keys)))


def read_block(raw, height):
    r = Reader(raw)
    if r.u8() != FORMAT:
        raise Bad("height %d: a block of another format" % height)
    h = {"height": r.u64(), "prev": r.take(32), "root": r.take(32), "time": r.u64(),
         "count": r.u32(), "state": r.take(32), "proposer": r.take(32)}
    header_body = raw[:r.pos]
    h["sig"] = r.take(64)
    h["hash"] = sha256(header_body)
    h["body"] = header_body
    if h["count"] > 1 << 20:
        raise Bad("height %d: %d records" % (height, h["count"]))
    records = [read_record(r) for _ in range(h["count"])]
    if not r.done():
        raise Bad("height %d: trailing bytes" % height)
    return h, records


def read_certificate(raw):
    r = Reader(raw)
    if r.bytes_() != TAG:
        raise Bad("a certificate without its tag")
    c = {"height": r.u64(), "round": r.u32(), "value": r.take(32)}
    n = r.u32()
    c["votes"] = [(r.take(32), r.take(64)) for _ in range(n)]
    if not r.done():
        raise Bad("a certificate with trailing bytes")
    return c


def precommit_bytes(c, signer):
    return (text(TAG) + bytes([2]) + struct.pack("<QI", c["height"], c["round"]) +
            b"\x01" + c["value"] + signer)


def be64(x):
    return struct.pack(">Q", x)


def check(db):
    head = db.get(b"m:head")
    if head is None:
        raise Bad("no head record")
    head_height, head_hash, blocks = struct.unpack(">Q", head[:8])[0], head[8:40], \
        struct.unpack(">Q", head[40:48])[0]
    ledger_keys = set()
    balances = {}
    index = {}
    prev = bytes(32)
    txs = 0
    changes = []  # (height, rules) of each rules change, in order
    first = None
    for height in range(blocks):
        raw = db.get(b"b" + be64(height))
        if raw is None:
            raise Bad("height %d: no block" % height)
        h, records = read_block(raw, height)
        at = "height %d: " % height
        if h["height"] != height or h["prev"] != prev:
            raise Bad(at + "does not link to the block before it")
        if merkle_root([t["id"] for t in records]) != h["root"]:
            raise Bad(at + "the Merkle root does not match the records")
        if height == 0:
            if h["proposer"] != ZERO_KEY or h["sig"] != ZERO_SIG:
                raise Bad(at + "the first block is signed")
            first = h["hash"]
        else:
            if h["proposer"] not in ledger_keys:
                raise Bad(at + "proposed by a key without the ledger role")
            if not verify(h["proposer"], h["body"], h["sig"]):
                raise Bad(at + "the header's signature does not verify")
            craw = db.get(b"c" + be64(height))
            if craw is None:
                raise Bad(at + "no certificate")
            c = read_certificate(craw)
            if c["height"] != height or c["value"] != sha256(raw):
                raise Bad(at + "the certificate is for another block")
            signers = set()
            for signer, sig in c["votes"]:
                if signer not in ledger_keys or signer in signers:
                    raise Bad(at + "a precommit of a key without the ledger role, or twice")
                if not verify(signer, precommit_bytes(c, signer), sig):
                    raise Bad(at + "a precommit's signature does not verify")
                signers.add(signer)
            if len(signers) < 2 * len(ledger_keys) // 3 + 1:
                raise Bad(at + "the certificate holds %d of %d ledger keys" %
                          (len(signers), len(ledger_keys)))
        for i, t in enumerate(records):
            if proposers(t):
                if t["signer"] != h["proposer"] or t["sig"] != ZERO_SIG or t["proof"]:
                    raise Bad(at + "record %d is the proposer's in another form" % i)
            elif not record_signed(t):
                raise Bad(at + "record %d has a bad signature" % i)
            if t["kind"] == GOVERNANCE:
                check_governance(t, first, height, ledger_keys, changes)
            elif t["kind"] == RULES and height != 0:
                raise Bad(at + "a rules record after the first block")
            if t["kind"] in PAYMENTS:
                account = t["account"]
                balances[account] = balances.get(account, 0) + PAYMENTS[t["kind"]] * t["amount"]
            if t["kind"] == MEMBER and len(t["data"]) == 36:
                roles = struct.unpack("<I", t["data"][32:])[0]
                if roles & LEDGER_ROLE and height == 0:  # only the first block grants it
                    ledger_keys.add(t["data"][:32])
            index[t["id"]] = (height, i)
        leaves = [sha256(text(a) + struct.pack("<q", b)) for a, b in sorted(balances.items())]
        if merkle_root(leaves) != h["state"]:
            raise Bad(at + "the state root is not that of the balances after the block")
        prev = h["hash"]
        txs += len(records)
    if blocks and (head_height != blocks - 1 or head_hash != prev):
        raise Bad("the head record does not name the last block")
    if db.get(b"b" + be64(blocks)) is not None or db.get(b"c" + be64(blocks)) is not None:
        raise Bad("a block beyond the head")
    for account, balance in balances.items():
        stored = db.get(b"a" + account)
        if stored is None or struct.unpack(">q", stored)[0] != balance:
            raise Bad("the stored balance of %r differs" % account)
    for key, value in db.iterator(prefix=b"a"):
        if key[1:] not in balances:
            raise Bad("a balance nothing paid: %r" % key[1:])
    for tx_id, (height, i) in index.items():
        if db.get(b"t" + tx_id) != be64(height) + be64(i):
            raise Bad("the index entry of a record at height %d differs" % height)
    return blocks, txs, first, len(changes)


def main():
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) == 2 else 2
    store = sys.argv[1]
    if not os.path.isfile(os.path.join(store, "CURRENT")):
        print("ledger_check: %s holds no ledger store" % store, file=sys.stderr)
        return 2
    # LevelDB writes when it opens a database: open a copy, leave the store as it is.
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "store")
        shutil.copytree(store, copy, ignore=shutil.ignore_patterns("LOCK"))
        db = plyvel.DB(copy)
        try:
            blocks, txs, first, governed = check(db)
        except Bad as e:
            print("ledger BAD: %s" % e)
            return 1
        finally:
            db.close()
    print("ledger OK: %d blocks, %d transactions" % (blocks, txs))
    if first is not None:
        print("  first block %s" % first.hex())
    if governed:
        print("  %d governance records, each approved by more than two thirds" % governed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
