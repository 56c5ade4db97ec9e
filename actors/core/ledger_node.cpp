#include "actors/core/ledger_node.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
#include <tuple>

#include "chain/encoding.hpp"

namespace nexus {

namespace cs = chain::consensus;

namespace {

const chain::public_key& signer_of(const cs::message& m) {
  return std::visit([](const auto& x) -> const chain::public_key& { return x.signer; }, m);
}

// The highest round this node signed at each recent height, as `signed_path` keeps them
// ("HEIGHT ROUND" lines, appended as it signs). A last line without its newline is an
// append torn by a crash: what it would have said was never sent (a message goes out only
// once its line is synced). Any other line that does not read is an error: the node
// cannot know where it may sign.
expected<std::map<uint64_t, int64_t>> read_signed(const std::filesystem::path& path) {
  std::map<uint64_t, int64_t> out;
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return out; // never signed
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  for (std::size_t at = 0, end; (end = text.find('\n', at)) != std::string::npos;
       at = end + 1) {
    std::istringstream line{text.substr(at, end - at)};
    uint64_t height = 0;
    int64_t round = -1;
    std::string rest;
    if (!(line >> height >> round) || round < 0 || (line >> rest))
      return make_error(errc::corrupted,
                        path.string()
                            + " does not read as HEIGHT ROUND lines: move it aside only if "
                              "this node never signed at the heights it would name");
    auto& kept = out.try_emplace(height, -1).first->second;
    kept = std::max(kept, round);
  }
  return out;
}

// Writes and syncs `text` to `path` by a synced temporary file renamed over it, and syncs
// the directory (for the file of rounds signed, written whole now and then).
bool write_synced(const std::filesystem::path& path, std::string_view text) {
  auto tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size())
            && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
    return false;
  return sync_directory(path);
}

// Heights of signing kept in memory, and lines appended to the file before it is written
// again with those heights alone.
constexpr std::size_t signed_heights = 8;
constexpr std::size_t signed_lines = 512;

void write_proposal(chain::writer& w, const std::optional<cs::proposal>& p) {
  w.u8(p ? 1 : 0);
  if (!p)
    return;
  w.u64(p->height);
  w.u32(p->round);
  w.bytes(p->value);
  w.u32(static_cast<uint32_t>(p->valid_round) + 1u);
  w.fixed(p->signer);
  w.fixed(p->sig);
}

// A proposal after its tag (1; anything else: none).
std::optional<cs::proposal> read_proposal(chain::reader& r, uint8_t tag) {
  if (tag != 1)
    return std::nullopt;
  cs::proposal p;
  p.height = r.u64();
  p.round = r.u32();
  p.value = r.bytes(std::size_t{1} << 30);
  p.valid_round = static_cast<int32_t>(r.u32()) - 1;
  r.fixed(p.signer);
  r.fixed(p.sig);
  return p;
}

// The lock and valid value, as the lock file keeps them: the valid value as a 2 alone when
// it is the locked one (as it mostly is: line 36 sets both), so a block is written once.
std::vector<uint8_t> encode_lock(const cs::tendermint::lock_state& l) {
  chain::writer w;
  w.u64(l.height);
  w.u32(static_cast<uint32_t>(l.locked_round) + 1u);
  w.u32(static_cast<uint32_t>(l.valid_round) + 1u);
  write_proposal(w, l.locked);
  if (l.valid && l.valid == l.locked)
    w.u8(2);
  else
    write_proposal(w, l.valid);
  return std::move(w.data());
}

std::optional<cs::tendermint::lock_state> decode_lock(std::span<const uint8_t> bytes) {
  chain::reader r{bytes};
  cs::tendermint::lock_state l;
  l.height = r.u64();
  l.locked_round = static_cast<int32_t>(r.u32()) - 1;
  l.valid_round = static_cast<int32_t>(r.u32()) - 1;
  l.locked = read_proposal(r, r.u8());
  if (auto tag = r.u8(); tag == 2) { // the locked value
    if (!l.locked)
      return std::nullopt;
    l.valid = l.locked;
  } else {
    l.valid = read_proposal(r, tag);
  }
  if (!r.ok() || !r.at_end() || (l.locked_round >= 0) != l.locked.has_value()
      || (l.valid_round >= 0) != l.valid.has_value())
    return std::nullopt;
  return l;
}

} // namespace

ledger_node::ledger_node(std::shared_ptr<chain::ledger> ledger, ledger_node_config config)
    : ledger_(std::move(ledger))
    , config_(std::move(config)) {
  cs::hooks h;
  h.get_value = [this](uint64_t height) { return value(height); };
  h.valid = [this](uint64_t height, const std::vector<uint8_t>& v,
                   const chain::digest& id) { return valid(height, v, id); };
  h.commit = [this](const cs::decision& d) { commit(d); };
  // Evidence rides along with the next block: alone it begins no height (each height an
  // equivocating node signs at would otherwise bring the next).
  h.ready = [this] { return has_records(); };
  auto head = ledger_->chain().head();
  machine_ =
      std::make_unique<cs::tendermint>(ledger_->validators(), ledger_->key(),
                                       head.height + 1, std::move(h), config_.timeouts);
  if (!config_.signed_path.empty()) {
    auto kept = read_signed(config_.signed_path);
    if (kept)
      signed_ = std::move(*kept);
    else
      problem_ = describe(kept.error());
    // The lock it held at this height, if it stopped while it held one: from its slots,
    // or from the whole file an earlier version kept (the later of the two if both hold
    // one: a node taken back to that version and forward again).
    lock_file_ = std::make_unique<synced_slots>(lock_path());
    std::optional<cs::tendermint::lock_state> held;
    auto take = [&](const std::vector<uint8_t>& bytes, const std::string& where) {
      auto l = decode_lock(bytes);
      if (!l)
        problem_ = where + " does not read: this node cannot know its lock";
      else if (!held
               || std::tuple{l->height, l->locked_round, l->valid_round}
                      > std::tuple{held->height, held->locked_round, held->valid_round})
        held = std::move(l);
    };
    if (auto slots = lock_file_->read(); !slots)
      problem_ = describe(slots.error()) + ": this node cannot know its lock";
    else if (*slots)
      take(**slots, lock_path().string() + ".0 or .1");
    std::ifstream in{lock_path(), std::ios::binary};
    std::vector<uint8_t> legacy{std::istreambuf_iterator<char>{in}, {}};
    if (in && !legacy.empty()) {
      legacy_lock_ = true;
      take(legacy, lock_path().string());
    }
    if (held && problem_.empty()) {
      machine_->restore(*held);
      saved_lock_ = {held->height, held->locked_round, held->valid_round};
    }
  }
}

std::filesystem::path ledger_node::lock_path() const {
  auto p = config_.signed_path;
  p.replace_extension(".lock");
  return p;
}

bool ledger_node::remember_lock() {
  std::tuple now{machine_->height(), machine_->locked_round(), machine_->valid_round()};
  if (now == saved_lock_ || config_.signed_path.empty())
    return true;
  if (std::get<1>(now) < 0 && std::get<2>(now) < 0) {
    // Nothing held (a new height): the kept lock is of an earlier height, which restore()
    // ignores. No write.
    saved_lock_ = now;
    return true;
  }
  if (!lock_file_->write(encode_lock(machine_->lock())))
    return false;
  saved_lock_ = now;
  if (legacy_lock_) { // the slots hold the lock now
    std::error_code ignored;
    std::filesystem::remove(lock_path(), ignored);
    legacy_lock_ = false;
  }
  return true;
}

ledger_node::~ledger_node() {
  if (signed_fd_ >= 0)
    ::close(signed_fd_);
}

bool ledger_node::has_records() const {
  return pooled_.size() > evidence_;
}

const ledger_node::pooled_record*
ledger_node::live(const std::pair<uint64_t, chain::digest>& e) const {
  auto it = pooled_.find(e.second);
  return it != pooled_.end() && it->second.number == e.first ? &it->second : nullptr;
}

void ledger_node::drop(const std::vector<chain::digest>& ids) {
  for (const auto& id : ids)
    if (auto it = pooled_.find(id); it != pooled_.end()) {
      evidence_ -= it->second.tx.kind == chain::tx_kind::evidence;
      pooled_.erase(it);
    }
  while (!pool_.empty() && !live(pool_.front()))
    pool_.pop_front();
  if (pool_.size() > 2 * pooled_.size() + 1024)
    std::erase_if(pool_, [&](const auto& e) { return !live(e); });
}

void ledger_node::wake_if_ready(ledger_node_output& out) {
  if (machine_->waiting() && has_records() && !silent())
    drive([&] { return machine_->wake(); }, out);
}

template <class F>
ledger_node_output ledger_node::step(F&& call) {
  ledger_node_output out;
  if (!silent())
    drive(std::forward<F>(call), out);
  return out;
}

std::vector<chain::transaction> ledger_node::pool() const {
  std::vector<chain::transaction> out;
  out.reserve(pooled_.size());
  for (const auto& e : pool_)
    if (const auto* r = live(e))
      out.push_back(r->tx);
  return out;
}

uint64_t ledger_node::height() const {
  return machine_->height();
}

ledger_node_output ledger_node::start() {
  ledger_node_output out;
  if (!problem_.empty()) { // it signs nothing rather than risk signing twice
    out.log.push_back("takes no part in consensus: " + problem_);
    return out;
  }
  if (silent())
    return out;
  // A node that signed at this height before it stopped goes on at the next round.
  uint32_t round = 0;
  if (auto it = signed_.find(machine_->height()); it != signed_.end() && it->second >= 0)
    round = static_cast<uint32_t>(it->second) + 1;
  drive([&] { return machine_->start(round); }, out);
  return out;
}

void ledger_node::pool(chain::transaction t, const chain::digest& id, bool pass_on,
                       ledger_node_output& out) {
  if (pooled_.contains(id))
    return;
  if (pass_on)
    out.gossip.push_back(t);
  evidence_ += t.kind == chain::tx_kind::evidence;
  auto number = ++pooled_count_;
  pooled_.emplace(id, pooled_record{std::move(t), number});
  pool_.emplace_back(number, id);
}

ledger_node_output ledger_node::offer(uint64_t ticket,
                                      const std::vector<std::vector<uint8_t>>& records) {
  ledger_node_output out;
  auto& st = tickets_[ticket];
  std::vector<chain::transaction> txs;
  std::vector<uint32_t> place; // of txs[i] in the batch
  auto refuse = [&](uint32_t at, std::string why) {
    out.log.push_back("refused a record: " + why);
    st.receipt.refused.push_back(std::move(why));
    st.receipt.refused_at.push_back(at);
  };
  for (uint32_t i = 0; i < records.size(); ++i) {
    auto t = chain::decode_transaction(records[i]);
    if (!t || chain::is_payment(*t)) {
      refuse(i, t ? "a payment (only the contract makes those): " + chain::describe_tx(*t)
                  : describe(t.error()));
      continue;
    }
    txs.push_back(std::move(*t));
    place.push_back(i);
  }
  auto ids = chain::ids_of(txs);
  auto good = chain::signatures_valid(txs, ids);
  for (std::size_t i = 0; i < txs.size(); ++i) {
    if (!good[i]) {
      refuse(place[i], "a bad signature: " + chain::describe_tx(txs[i]));
      continue;
    }
    const auto& id = ids[i];
    if (ledger_->holds(txs[i], id)) { // offered again: stored once
      ++st.receipt.recorded;
      auto height = height_holding(id);
      if (height >= st.receipt.height) {
        st.receipt.height = height;
        if (auto b = ledger_->chain().get(height))
          st.receipt.block_hash = b->header.hash();
      }
      continue;
    }
    waiting_[id].emplace_back(ticket, place[i]);
    ++st.remaining;
    pool(std::move(txs[i]), id, true, out);
  }
  if (st.remaining == 0) {
    out.receipts.emplace_back(ticket, std::move(st.receipt));
    tickets_.erase(ticket);
  }
  wake_if_ready(out);
  return out;
}

ledger_node_output ledger_node::gossip(const std::vector<std::vector<uint8_t>>& records) {
  ledger_node_output out;
  std::vector<chain::transaction> txs;
  for (const auto& bytes : records)
    if (auto t = chain::decode_transaction(bytes); t && !chain::is_payment(*t))
      txs.push_back(std::move(*t));
  auto ids = chain::ids_of(txs);
  auto good = chain::signatures_valid(txs, ids);
  for (std::size_t i = 0; i < txs.size(); ++i)
    if (good[i] && !pooled_.contains(ids[i]) && !ledger_->holds(txs[i], ids[i]))
      pool(std::move(txs[i]), ids[i], false, out);
  wake_if_ready(out);
  return out;
}

ledger_node_output ledger_node::on_message(const cs::message& m) {
  return step([&] { return machine_->on_message(m); });
}

ledger_node_output ledger_node::on_decision(const cs::decision& d) {
  return step([&] { return machine_->on_decision(d); });
}

ledger_node_output ledger_node::on_timeout(const cs::timer& t) {
  return step([&] { return machine_->on_timeout(t); });
}

ledger_node_output ledger_node::resend() {
  ledger_node_output out;
  if (silent())
    return out;
  if (!unstored_.empty()) {
    auto waiting = std::move(unstored_);
    unstored_.clear();
    out_ = &out;
    for (const auto& d : waiting)
      if (unstored_.empty()) // in order: once one fails, the rest wait behind it
        commit(d);
      else
        unstored_.push_back(d);
    if (unstored_.empty())
      recheck_pool(out);
    out_ = nullptr;
  }
  // Its own messages among them go out only once kept (a step whose keeping failed
  // withheld them, but the machine heard them).
  out.broadcast = machine_->resend();
  keep_before_sending(out.broadcast, out);
  return out;
}

uint64_t ledger_node::height_holding(const chain::digest& id) const {
  auto where = ledger_->chain().find(id);
  return where ? where->first : ledger_->chain().head().height;
}

void ledger_node::recheck_pool(ledger_node_output& out) {
  // While the store was closed after a failed write, it held nothing for what was offered:
  // a record the chain holds may have been pooled. It leaves the pool as recorded.
  std::vector<chain::digest> gone;
  for (const auto& [id, r] : pooled_)
    if (ledger_->holds(r.tx, id)) {
      gone.push_back(id);
      auto height = height_holding(id);
      auto b = ledger_->chain().get(height);
      settle(id, {}, height, b ? b->header.hash() : chain::digest{}, out);
    }
  drop(gone);
}

std::vector<cs::decision> ledger_node::decided_from(uint64_t height,
                                                    std::size_t limit) const {
  std::vector<cs::decision> out;
  const auto& chain = ledger_->chain();
  for (auto h = std::max<uint64_t>(height, 1);
       h < chain.head().blocks && out.size() < limit; ++h) {
    auto bytes = chain.raw_block(h);
    auto cert_bytes = chain.raw_certificate(h);
    if (!bytes || !cert_bytes)
      break;
    auto cert = cs::decode_certificate(*cert_bytes);
    if (!cert)
      break;
    out.push_back({h, std::move(*bytes), std::move(*cert)});
  }
  return out;
}

std::vector<uint8_t> ledger_node::value(uint64_t height) {
  std::vector<chain::transaction> inputs;
  std::vector<chain::digest> ids; // of inputs[i]
  if (config_.fault != "drop-records")
    for (std::size_t i = 0; i < pool_.size() && inputs.size() < config_.batch; ++i)
      if (const auto* r = live(pool_[i])) {
        inputs.push_back(r->tx);
        ids.push_back(pool_[i].second);
      }
  // Empty if it must; the pool's records were checked as they came.
  auto made = ledger_->propose(inputs, chain::now_ms(), true, true);
  if (!made || !made->stored) {
    if (out_)
      out_->log.push_back("cannot propose block " + std::to_string(height) + ": "
                          + (made ? std::string{"no block"} : describe(made.error())));
    return {};
  }
  // The contract's refusals are final: the chain's state decides them, the same at
  // every node. What the chain holds already leaves the pool as recorded.
  std::vector<chain::digest> gone;
  for (const auto& [i, why] : made->refused) {
    gone.push_back(ids[i]);
    if (out_)
      settle(ids[i], why + ": " + chain::describe_tx(inputs[i]), 0, {}, *out_);
  }
  auto head = ledger_->chain().head();
  for (auto i : made->already) {
    gone.push_back(ids[i]);
    if (out_)
      settle(ids[i], {}, head.height, head.hash, *out_);
  }
  drop(gone);
  auto b = std::move(*made->stored);
  if (config_.fault == "pay-self") { // a reward of 1000 MCC to itself, for nothing
    chain::transaction pay;
    pay.kind = chain::tx_kind::reward;
    for (const auto& [name, m] : ledger_->contract().members().entries())
      if (m.key == ledger_->key().public_bytes())
        pay.account = name;
    pay.amount = 1'000'000'000;
    pay.signer = ledger_->key().public_bytes();
    pay.time_ms = b.header.time_ms;
    b.txs.push_back(pay);
    b = chain::seal(b.header.height, b.header.prev, std::move(b.txs), b.header.time_ms,
                    b.header.state_root, ledger_->key());
  }
  return chain::encode(b);
}

bool ledger_node::valid(uint64_t height, const std::vector<uint8_t>& value,
                        const chain::digest& id) {
  if (config_.fault == "invalid-votes")
    return true;
  if (!unstored_.empty()) // its store is behind what it decided
    return false;
  auto b = chain::decode_block(value);
  if (!b || b->header.height != height)
    return false;
  // A record this node pooled, byte for byte the same, had its signature checked then.
  chain::received_block r{std::move(*b), id, {}, {}};
  r.ids = chain::ids_of(r.b.txs);
  r.known.resize(r.ids.size());
  for (std::size_t i = 0; i < r.ids.size(); ++i)
    if (auto it = pooled_.find(r.ids[i]); it != pooled_.end())
      r.known[i] = it->second.tx == r.b.txs[i];
  if (auto err = ledger_->check_next(std::move(r))) {
    if (out_)
      out_->log.push_back("refused a proposal: " + describe(err));
    return false;
  }
  return true;
}

void ledger_node::commit(const cs::decision& d) {
  // Every decision the machine makes carries precommits it verified.
  auto stored = ledger_->commit(d.value, d.cert, true);
  if (!stored) {
    // Decided is decided: it is stored when the disk takes it (resend tries again), and
    // until then this node proposes and votes for nothing.
    if (out_)
      out_->log.push_back("cannot store decided block " + std::to_string(d.height) + ": "
                          + describe(stored.error()) + "; trying again");
    unstored_.push_back(d);
    return;
  }
  std::vector<chain::digest> gone;
  for (const auto& id : stored->ids) {
    if (pooled_.contains(id))
      gone.push_back(id);
    if (out_)
      settle(id, {}, stored->height, stored->hash, *out_);
  }
  drop(gone);
}

void ledger_node::settle(const chain::digest& id, const std::string& refusal,
                         uint64_t height, const chain::digest& hash,
                         ledger_node_output& out) {
  auto it = waiting_.find(id);
  if (it == waiting_.end())
    return;
  for (auto [ticket, place] : it->second) {
    auto t = tickets_.find(ticket);
    if (t == tickets_.end())
      continue;
    auto& receipt = t->second.receipt;
    if (!refusal.empty()) {
      out.log.push_back("refused a record: " + refusal);
      receipt.refused.push_back(refusal);
      receipt.refused_at.push_back(place);
    } else {
      ++receipt.recorded;
      if (height >= receipt.height) {
        receipt.height = height;
        receipt.block_hash = hash;
      }
    }
    if (--t->second.remaining == 0) {
      out.receipts.emplace_back(ticket, std::move(receipt));
      tickets_.erase(t);
    }
  }
  waiting_.erase(it);
}

bool ledger_node::remember_signed(
    const std::vector<std::pair<uint64_t, uint32_t>>& rounds) {
  // Raised in memory only once kept: after a failed write, the same rounds are written
  // again before anything of them goes out.
  auto after = signed_;
  std::string lines; // what is new
  for (auto [height, round] : rounds) {
    auto& at = after.try_emplace(height, -1).first->second;
    if (at >= static_cast<int64_t>(round))
      continue;
    at = round;
    lines += std::to_string(height) + " " + std::to_string(round) + "\n";
  }
  if (lines.empty())
    return true;
  while (after.size() > signed_heights)
    after.erase(after.begin());
  if (!config_.signed_path.empty() && !keep_signed(after, lines))
    return false;
  signed_ = std::move(after);
  return true;
}

bool ledger_node::keep_signed(const std::map<uint64_t, int64_t>& rounds,
                              const std::string& lines) {
  if (signed_fd_ < 0 || appended_ >= signed_lines) { // (again) from the heights kept
    if (signed_fd_ >= 0)
      ::close(signed_fd_);
    signed_fd_ = -1;
    std::string text;
    for (const auto& [h, r] : rounds)
      text += std::to_string(h) + " " + std::to_string(r) + "\n";
    if (!write_synced(config_.signed_path, text))
      return false;
    signed_fd_ = ::open(config_.signed_path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    appended_ = 0;
    return signed_fd_ >= 0;
  }
  // Lines appended and synced: one sync, where a renamed copy took two.
  ++appended_;
  if (::write(signed_fd_, lines.data(), lines.size()) == static_cast<ssize_t>(lines.size())
      && ::fdatasync(signed_fd_) == 0)
    return true;
  ::close(signed_fd_); // a torn line: the next time writes the file whole
  signed_fd_ = -1;
  return false;
}

bool ledger_node::keep_before_sending(std::vector<cs::message>& broadcast,
                                      ledger_node_output& out) {
  const auto& me = ledger_->key().public_bytes();
  auto withhold = [&](const std::filesystem::path& file) { // unkept: never sent
    out.log.push_back("cannot keep what it signed in " + file.string()
                      + ": sends nothing it signed");
    std::erase_if(broadcast, [&](const cs::message& x) { return signer_of(x) == me; });
    return false;
  };
  // The lock first: a precommit goes out only with the lock behind it kept.
  if (!remember_lock())
    return withhold(lock_path());
  // What it signed, kept in one synced write before any of it goes out.
  std::vector<std::pair<uint64_t, uint32_t>> signing;
  for (const auto& m : broadcast)
    if (signer_of(m) == me)
      signing.push_back(std::visit(
          [](const auto& x) {
            return std::pair{x.height, x.round};
          },
          m));
  if (!remember_signed(signing)) // unkept, a signature could be made twice
    return withhold(config_.signed_path);
  return true;
}

template <class F>
void ledger_node::drive(F&& call, ledger_node_output& out) {
  out_ = &out; // for what the machine's hooks add
  auto e = call();
  out_ = nullptr;
  take(std::move(e), out);
}

void ledger_node::take(cs::effects e, ledger_node_output& out) {
  const auto& me = ledger_->key().public_bytes();
  std::vector<cs::message> second; // the equivocating fault's other votes
  keep_before_sending(e.broadcast, out);
  for (auto& m : e.broadcast) {
    if (signer_of(m) != me)
      continue;
    if (config_.fault == "equivocate")
      if (auto* v = std::get_if<cs::vote>(&m)) {
        cs::message other = *v;
        auto& o = std::get<cs::vote>(other);
        o.value = v->value ? std::nullopt : std::optional{chain::sha256(v->signed_bytes())};
        cs::sign(other, ledger_->key());
        second.push_back(std::move(other));
      }
  }
  for (auto& m : second)
    out.broadcast.push_back(std::move(m));
  for (auto& m : e.broadcast)
    out.broadcast.push_back(std::move(m));
  for (auto& t : e.timers)
    out.timers.push_back(t);
  for (auto& [key, d] : e.replies)
    out.to_sender.push_back(std::move(d));
  // Double signing goes on the chain as evidence, for the contract to penalize.
  for (const auto& ev : e.equivocations) {
    chain::transaction t;
    t.kind = chain::tx_kind::evidence;
    for (const auto& [name, m] : ledger_->contract().members().entries())
      if (m.key == ev.first.signer && (m.roles & chain::bit(chain::role::ledger)))
        t.account = name;
    t.data = cs::encode(ev);
    t.time_ms = chain::now_ms();
    t.sign_with(ledger_->key());
    out.log.push_back("ledger node " + t.account + " signed two different votes at height "
                      + std::to_string(ev.first.height) + " round "
                      + std::to_string(ev.first.round) + ": evidence recorded");
    auto id = t.id();
    pool(std::move(t), id, true, out);
  }
}

} // namespace nexus
