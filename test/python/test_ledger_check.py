"""The independent checker (scripts/ledger_check.py, written from docs/LEDGER.md alone)
against `nexus-node ledger verify` on real stores: four ledger nodes' stores made by a real
embedded network agree (with a rules change approved by three of the four ledger nodes
among the records), and a changed byte in a block, a certificate or a balance fails
both."""
import os
import shutil
import struct
import subprocess
import sys

import plyvel
import pytest

ROOT = os.environ.get("NEXUS_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
CHECKER = os.path.join(ROOT, "scripts", "ledger_check.py")


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)


def check(store):
    return run([sys.executable, CHECKER, str(store)])


def verify(data_dir):
    return run([os.environ["NEXUS_NODE"], "ledger", "verify", "--data", str(data_dir)])


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    if "NEXUS_SHELL" not in os.environ or "NEXUS_NODE" not in os.environ:
        pytest.skip("NEXUS_SHELL and NEXUS_NODE name the binaries (meson test sets them)")
    data = tmp_path_factory.mktemp("net")
    out = run([os.environ["NEXUS_SHELL"], "--data", str(data), "--ledgers", "4",
               "--ledger-fault", "equivocate",
               "-c", "submit matmul --m 200 --k 100 --n 150",
               "-c", "submit matmul --m 64 --k 64 --n 64"])
    assert out.returncode == 0, out.stdout + out.stderr
    # A rules change, approved offline by three of the four ledger nodes' keys and handed
    # in through the shell.
    report = verify(data)
    assert report.returncode == 0, report.stdout + report.stderr
    blocks, _, first = summary(report.stdout)
    change = data / "change.txt"
    change.write_text("chain %s\nsequence 0\nheight %d\nrules 3 500 100 1000000 50\n"
                      % (first, blocks + 20))
    for key_dir in (data, data / "nodes" / "ledger-2", data / "nodes" / "ledger-3"):
        approved = run([os.environ["NEXUS_NODE"], "governance", "approve", str(change),
                        "--key", str(key_dir)])
        assert approved.returncode == 0, approved.stdout + approved.stderr
    out = run([os.environ["NEXUS_SHELL"], "--data", str(data), "--ledgers", "4",
               "-c", "ledger govern %s" % change,
               "-c", "submit matmul --m 64 --k 64 --n 64"])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "rules from height %d" % (blocks + 20) in out.stdout
    return data


def stores(data):
    yield data / "ledger"
    for k in (2, 3, 4):
        yield data / "ledgers" / ("ledger-%d" % k) / "ledger"


def summary(text):
    """(blocks, transactions, first block hash) from either tool's report."""
    lines = text.splitlines()
    words = lines[0].split()
    first = next(l.split()[-1] for l in lines if l.strip().startswith("first block"))
    return int(words[2]), int(words[4].rstrip(",")), first


def test_the_checker_agrees_with_ledger_verify_on_every_store(network):
    reports = []
    for store in stores(network):
        ours = check(store)
        assert ours.returncode == 0, ours.stdout + ours.stderr
        assert ours.stdout.startswith("ledger OK")
        theirs = verify(store.parent)
        assert theirs.returncode == 0, theirs.stdout + theirs.stderr
        assert summary(ours.stdout) == summary(theirs.stdout)
        assert "1 governance records" in ours.stdout
        assert "rules from height" in theirs.stdout
        reports.append(summary(ours.stdout))
    assert len(set(reports)) == 1  # every ledger node holds the same chain
    assert reports[0][0] >= 2


def changed_copy(network, tmp_path, key_of, offset):
    """A copy of the hub's store with one byte of one entry changed."""
    copy = tmp_path / "data"
    shutil.copytree(network / "ledger", copy / "ledger", ignore=shutil.ignore_patterns("LOCK"))
    db = plyvel.DB(str(copy / "ledger"))
    key = key_of(db)
    value = bytearray(db.get(key))
    value[offset % len(value)] ^= 0x01
    db.put(key, bytes(value))
    db.close()
    return copy


def be64(x):
    return struct.pack(">Q", x)


@pytest.mark.parametrize("what,key_of,offset", [
    ("a block's header", lambda db: b"b" + be64(1), 20),
    ("a record in a block", lambda db: b"b" + be64(1), 400),
    ("a certificate's signature", lambda db: b"c" + be64(1), -1),
    ("a balance", lambda db: next(k for k, _ in db.iterator(prefix=b"a")), 7),
])
def test_a_changed_byte_fails_both(network, tmp_path, what, key_of, offset):
    copy = changed_copy(network, tmp_path, key_of, offset)
    ours = check(copy / "ledger")
    assert ours.returncode == 1, what + ": " + ours.stdout
    assert "ledger BAD" in ours.stdout
    theirs = verify(copy)  # the audit, or opening the store (a changed head block)
    assert theirs.returncode != 0, what + ": " + theirs.stdout
    said = theirs.stdout + theirs.stderr
    assert "BAD" in said or "does not have the recorded hash" in said, said


def test_the_checker_says_how_to_use_it():
    out = run([sys.executable, CHECKER, "--help"])
    assert out.returncode == 0
    assert "usage" in out.stdout
    missing = run([sys.executable, CHECKER, "/nonexistent"])
    assert missing.returncode == 2
