#include "chain/store.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstring>
#include <set>

#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include "chain/encoding.hpp"
#include "compute/errc.hpp"

namespace nexus::chain {

namespace {

const std::string head_key = "m:head";

std::string be64(uint64_t x) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>(x >> (8 * (7 - i)));
  return out;
}

uint64_t read_be64(std::string_view s) {
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i)
    x = (x << 8) | static_cast<uint8_t>(s[i]);
  return x;
}

// Keys are built by appending: GCC 12 warns falsely (-Wrestrict) on "x" + std::string&&.
std::string prefixed(char prefix, std::string_view rest) {
  std::string out(1, prefix);
  out += rest;
  return out;
}

std::string block_key(uint64_t height) {
  return prefixed('b', be64(height));
}

std::string certificate_key(uint64_t height) {
  return prefixed('c', be64(height));
}

std::string tx_key(const digest& id) {
  return prefixed('t', {reinterpret_cast<const char*>(id.data()), id.size()});
}

std::string account_key(const std::string& account) {
  return prefixed('a', account);
}

// h <account> 0x00 <height> -> the indexes (u32 each, ascending) of the block's records
// naming the account: accounts hold no 0x00, so one account's entries sort together and
// in chain order. One entry per account and block, not per record: a block of a thousand
// records from eight workers adds ten entries, not two thousand.
std::string history_key(const std::string& account, uint64_t height) {
  auto key = prefixed('h', account);
  key += '\0';
  key += be64(height);
  return key;
}

std::string be32(uint32_t x) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i)
    out[i] = static_cast<char>(x >> (8 * (3 - i)));
  return out;
}

// The size of what follows the account's 0x00 in a history key: 8 since history entries
// are kept per block, 16 in stores written before (one entry per record).
constexpr std::size_t history_tail = 8;
constexpr std::size_t old_history_tail = 16;

std::string encode_balance(int64_t x) {
  return be64(static_cast<uint64_t>(x));
}

error from_status(const leveldb::Status& s, const std::string& what) {
  if (s.ok())
    return {};
  auto text = s.ToString();
  if (s.IsIOError() && text.find("lock") != std::string::npos)
    return make_error(errc::unavailable,
                      what + ": " + text + " (is another node using it?)");
  return make_error(s.IsCorruption() ? errc::corrupted : errc::failed, what + ": " + text);
}

} // namespace

expected<std::unique_ptr<store>> store::open_read_only(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(dir / "CURRENT", ec))
    return make_error(errc::not_found, dir.string() + " holds no ledger store");
  // LevelDB holds a write lock on LOCK while a node has the store open; a read lock
  // waits for no one and fails while it is held.
  int lock_fd = ::open((dir / "LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (lock_fd >= 0) {
    struct flock fl {};
    fl.l_type = F_RDLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(lock_fd, F_SETLK, &fl) != 0) {
      ::close(lock_fd);
      return make_error(errc::unavailable,
                        dir.string()
                            + " is open in a running node; audit it there "
                              "(nexus-shell: ledger verify) or stop the node");
    }
  }
  // Only this user may read the copy (mkdtemp makes it 0700).
  auto pattern = (fs::temp_directory_path(ec) / "nexus-audit-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) {
    if (lock_fd >= 0)
      ::close(lock_fd);
    return make_error(errc::failed,
                      "cannot make a directory to audit a copy of " + dir.string() + " in");
  }
  fs::path copy = pattern;
  for (const auto& entry : fs::directory_iterator{dir, ec}) {
    auto name = entry.path().filename().string();
    if (name == "LOCK" || name.starts_with("LOG") || !entry.is_regular_file())
      continue;
    bool table = name.ends_with(".ldb") || name.ends_with(".sst");
    std::error_code link_ec;
    if (table) // never written again: a link is as good as a copy
      fs::create_hard_link(entry.path(), copy / name, link_ec);
    if (!table || link_ec)
      fs::copy_file(entry.path(), copy / name, ec);
    if (ec)
      break;
  }
  if (lock_fd >= 0)
    ::close(lock_fd); // releases the read lock
  if (ec) {
    fs::remove_all(copy);
    return make_error(errc::failed,
                      "cannot copy " + dir.string() + " to audit it: " + ec.message());
  }
  auto s = open(copy);
  if (!s) {
    fs::remove_all(copy);
    return s.error();
  }
  (*s)->copy_ = copy;
  return s;
}

expected<std::unique_ptr<store>> store::open(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return make_error(errc::failed, "cannot create " + dir.string() + ": " + ec.message());
  std::unique_ptr<store> s{new store};
  s->dir_ = dir;
  if (auto err = s->open_db())
    return err;
  return s;
}

error store::open_db() {
  leveldb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  // Records are hashes, keys and signatures, which do not compress: Snappy only cost time.
  options.compression = leveldb::kNoCompression;
  // Each record offered is looked up by its id, and almost always absent: a Bloom filter
  // answers that without reading the tables. Made once, never freed (LevelDB keeps a
  // pointer to it in every open store).
  static const leveldb::FilterPolicy* bloom = leveldb::NewBloomFilterPolicy(10);
  options.filter_policy = bloom;
  options.write_buffer_size = 16 << 20;
  leveldb::DB* raw = nullptr;
  if (auto err = from_status(leveldb::DB::Open(options, dir_.string(), &raw),
                             "ledger store " + dir_.string()))
    return err;
  db_.reset(raw);
  head_ = {};
  ids_.clear();
  std::string head;
  auto status = db_->Get(leveldb::ReadOptions{}, head_key, &head);
  if (status.IsNotFound())
    return {}; // a new, empty ledger
  if (auto err = from_status(status, "ledger head"))
    return err;
  if (head.size() != 8 + 32 + 8)
    return make_error(errc::corrupted,
                      "ledger head record of " + std::to_string(head.size()) + " bytes");
  head_.height = read_be64(head);
  std::copy(head.begin() + 8, head.begin() + 40, head_.hash.begin());
  head_.blocks = read_be64(std::string_view{head}.substr(40));
  auto top = get(head_.height);
  if (!top)
    return make_error(errc::corrupted, "the ledger's head block "
                                           + std::to_string(head_.height)
                                           + " cannot be read: " + describe(top.error()));
  if (top->header.hash() != head_.hash)
    return make_error(errc::corrupted, "the ledger's head block "
                                           + std::to_string(head_.height)
                                           + " does not have the recorded hash");
  // Every stored record's id, from the index (33-byte keys: 't' and the id).
  std::unique_ptr<leveldb::Iterator> it{db_->NewIterator(leveldb::ReadOptions{})};
  for (it->Seek("t"); it->Valid() && it->key().starts_with("t"); it->Next())
    if (it->key().size() == 1 + sizeof(digest)) {
      digest id{};
      std::memcpy(id.data(), it->key().data() + 1, id.size());
      ids_.add(id);
    }
  if (auto err = from_status(it->status(), "reading the ledger's record index"))
    return err;
  it.reset();
  return rewrite_old_history();
}

error store::rewrite_old_history() {
  // Only a store whose every history entry has the earlier form: an entry of that form
  // added to another store is one nothing made, for the audit to name.
  leveldb::WriteBatch batch;
  std::unique_ptr<leveldb::Iterator> it{db_->NewIterator(leveldb::ReadOptions{})};
  bool any = false;
  for (it->Seek("h"); it->Valid() && it->key().starts_with("h"); it->Next()) {
    auto key = it->key().ToString();
    auto nul = key.find('\0');
    if (nul == std::string::npos || key.size() != nul + 1 + old_history_tail
        || !it->value().empty())
      return {};
    batch.Delete(key);
    any = true;
  }
  it.reset();
  if (!any)
    return {};
  // Written before history entries were kept per block: every one is made again from the
  // blocks, in one synced batch (nothing else changes; the blocks are as they were).
  for (uint64_t h = 0; h < head_.blocks; ++h) {
    auto b = get(h);
    if (!b)
      return b.error();
    index_entries(*b, [&](std::string k, std::string v) {
      if (k.starts_with("h"))
        batch.Put(k, v);
    });
  }
  leveldb::WriteOptions sync;
  sync.sync = true;
  if (auto err =
          from_status(db_->Write(sync, &batch), "rewriting the ledger's history entries"))
    return err;
  history_rewritten_ = true;
  return {};
}

error store::ready(std::size_t bytes) {
  if (!db_) {
    if (auto err = open_db()) {
      db_.reset();
      return make_error(errc::failed, "the ledger store cannot be opened again after a "
                                      "failed write: "
                                          + describe(err));
    }
  }
  struct statvfs fs {};
  if (::statvfs(dir_.c_str(), &fs) != 0)
    return {}; // nothing known: the write itself will tell
  auto free = uint64_t{fs.f_bavail} * fs.f_frsize;
  if (free < keep_free_ + 2 * uint64_t{bytes})
    return make_error(
        errc::failed,
        "the ledger's disk has " + std::to_string(free >> 10) + " KiB free, less than the "
            + std::to_string((keep_free_ + 2 * bytes) >> 10)
            + " KiB a block needs with the space it keeps free (" + dir_.string() + ")");
  return {};
}

store::~store() {
  db_.reset();
  if (!copy_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(copy_, ec);
  }
}

void store::index_entries(const block& b,
                          const std::function<void(std::string, std::string)>& put,
                          std::span<const digest> ids) {
  bool given = ids.size() == b.txs.size();
  std::map<std::string_view, std::string> named; // account -> indexes
  for (uint32_t i = 0; i < b.txs.size(); ++i) {
    const auto& t = b.txs[i];
    put(tx_key(given ? ids[i] : t.id()), be64(b.header.height) + be64(i));
    auto name = [&](const std::string& account) {
      if (!account.empty() && account.find('\0') == std::string::npos)
        named[account] += be32(i);
    };
    name(t.worker);
    if (t.validator != t.worker)
      name(t.validator);
    if (t.account != t.worker && t.account != t.validator)
      name(t.account);
  }
  for (auto& [account, indexes] : named)
    put(history_key(std::string{account}, b.header.height), std::move(indexes));
}

std::pair<std::string, std::string> store::balance_entry(const std::string& account,
                                                         int64_t balance) {
  return {account_key(account), encode_balance(balance)};
}

std::pair<std::string, std::string> store::head_entry(const head_info& head) {
  return {head_key, be64(head.height) + std::string(head.hash.begin(), head.hash.end())
                        + be64(head.blocks)};
}

std::optional<uint64_t> store::block_height_of(std::string_view key) {
  if (key.size() != 9 || key[0] != 'b')
    return std::nullopt;
  return read_be64(key.substr(1));
}

std::optional<uint64_t> store::certificate_height_of(std::string_view key) {
  if (key.size() != 9 || key[0] != 'c')
    return std::nullopt;
  return read_be64(key.substr(1));
}

std::string store::describe_key(std::string_view key) {
  if (key == head_key)
    return "the head record";
  if (key.empty())
    return "an empty key";
  auto rest = key.substr(1);
  switch (key[0]) {
  case 'b':
    if (auto height = block_height_of(key))
      return "block " + std::to_string(*height);
    return "a block key of " + std::to_string(rest.size()) + " bytes";
  case 'c':
    if (auto height = certificate_height_of(key))
      return "the certificate of block " + std::to_string(*height);
    return "a certificate key of " + std::to_string(rest.size()) + " bytes";
  case 't': {
    digest id{};
    if (rest.size() != id.size())
      return "a transaction index key of " + std::to_string(rest.size()) + " bytes";
    std::copy(rest.begin(), rest.end(), id.begin());
    return "the index entry of transaction " + to_hex(id).substr(0, 16) + "...";
  }
  case 'h': {
    auto nul = rest.find('\0');
    if (nul == std::string_view::npos || rest.size() != nul + 1 + history_tail)
      return "a malformed history key";
    return "the history entry of " + std::string{rest.substr(0, nul)} + " at height "
           + std::to_string(read_be64(rest.substr(nul + 1)));
  }
  case 'a':
    return "the balance of " + std::string{rest};
  default:
    return "an unknown key of " + std::to_string(key.size()) + " bytes";
  }
}

namespace {

expected<std::vector<uint8_t>> read_entry(leveldb::DB* db, const std::string& key,
                                          const std::string& what) {
  if (!db)
    return make_error(errc::failed, "the ledger store is closed after a failed write");
  std::string bytes;
  auto status = db->Get(leveldb::ReadOptions{}, key, &bytes);
  if (status.IsNotFound())
    return make_error(errc::not_found, "no " + what);
  if (auto err = from_status(status, "reading " + what))
    return err;
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

} // namespace

expected<std::vector<uint8_t>> store::raw_block(uint64_t height) const {
  return read_entry(db_.get(), block_key(height), "block " + std::to_string(height));
}

expected<std::vector<uint8_t>> store::raw_certificate(uint64_t height) const {
  return read_entry(db_.get(), certificate_key(height),
                    "certificate of block " + std::to_string(height));
}

void store::scan(
    const std::function<bool(std::string_view key, std::string_view value)>& fn) const {
  if (!db_)
    return;
  std::unique_ptr<leveldb::Iterator> it{db_->NewIterator(leveldb::ReadOptions{})};
  for (it->SeekToFirst(); it->Valid(); it->Next())
    if (!fn({it->key().data(), it->key().size()}, {it->value().data(), it->value().size()}))
      return;
}

error store::append(const block& b, const balance_deltas& deltas,
                    std::span<const uint8_t> certificate, bool checked,
                    std::span<const digest> ids) {
  auto expected_height = head_.blocks == 0 ? 0 : head_.height + 1;
  digest expected_prev = head_.blocks == 0 ? digest{} : head_.hash;
  if (b.header.height != expected_height || b.header.prev != expected_prev)
    return make_error(errc::rejected, "block " + std::to_string(b.header.height)
                                          + " does not extend the head at height "
                                          + std::to_string(head_.height));
  if (!checked)
    if (auto err = check(b))
      return make_error(errc::rejected, describe(err));
  leveldb::WriteBatch batch;
  auto bytes = encode(b);
  if (auto err = ready(bytes.size()))
    return err;
  batch.Put(block_key(b.header.height),
            leveldb::Slice{reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  if (!certificate.empty())
    batch.Put(certificate_key(b.header.height),
              leveldb::Slice{reinterpret_cast<const char*>(certificate.data()),
                             certificate.size()});
  index_entries(
      b, [&](std::string key, std::string value) { batch.Put(key, value); }, ids);
  for (const auto& [account, delta] : deltas) {
    auto [key, value] = balance_entry(account, balance(account) + delta);
    batch.Put(key, value);
  }
  head_info next{b.header.height, b.header.hash(), head_.blocks + 1};
  auto [key, value] = head_entry(next);
  batch.Put(key, value);
  leveldb::WriteOptions sync;
  sync.sync = true;
  if (auto err = from_status(db_->Write(sync, &batch),
                             "writing block " + std::to_string(b.header.height))) {
    db_.reset(); // no write may follow a torn one in the same log; ready() reopens
    return err;
  }
  head_ = next;
  bool given = ids.size() == b.txs.size();
  for (std::size_t i = 0; i < b.txs.size(); ++i)
    ids_.add(given ? ids[i] : b.txs[i].id());
  return {};
}

expected<block> store::get(uint64_t height) const {
  auto bytes = raw_block(height);
  if (!bytes)
    return bytes.error();
  auto b = decode_block(*bytes);
  if (b && b->header.height != height)
    return make_error(errc::corrupted, "block stored at height " + std::to_string(height)
                                           + " says it is "
                                           + std::to_string(b->header.height));
  return b;
}

std::optional<std::pair<uint64_t, uint32_t>> store::find(const digest& tx_id) const {
  std::string where;
  if (!db_ || !ids_.may_contain(tx_id)
      || !db_->Get(leveldb::ReadOptions{}, tx_key(tx_id), &where).ok()
      || where.size() != 16)
    return std::nullopt;
  return std::make_pair(read_be64(where), static_cast<uint32_t>(read_be64(
                                              std::string_view{where}.substr(8))));
}

std::vector<std::pair<uint64_t, uint32_t>> store::history(const std::string& account,
                                                          std::size_t limit) const {
  std::vector<std::pair<uint64_t, uint32_t>> out;
  if (!db_)
    return out;
  auto prefix = prefixed('h', account);
  prefix += '\0';
  std::unique_ptr<leveldb::Iterator> it{db_->NewIterator(leveldb::ReadOptions{})};
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto key = it->key().ToString();
    auto value = it->value();
    if (key.size() != prefix.size() + history_tail || value.size() % 4 != 0)
      continue;
    auto height = read_be64(std::string_view{key}.substr(prefix.size()));
    for (std::size_t at = 0; at < value.size(); at += 4) {
      uint32_t index = 0;
      for (std::size_t i = 0; i < 4; ++i)
        index = (index << 8) | static_cast<uint8_t>(value[at + i]);
      out.emplace_back(height, index);
    }
  }
  if (out.size() > limit)
    out.erase(out.begin(), out.end() - static_cast<long>(limit));
  return out;
}

int64_t store::balance(const std::string& account) const {
  std::string value;
  if (!db_ || !db_->Get(leveldb::ReadOptions{}, account_key(account), &value).ok()
      || value.size() != 8)
    return 0;
  return static_cast<int64_t>(read_be64(value));
}

std::map<std::string, int64_t> store::balances() const {
  std::map<std::string, int64_t> out;
  if (!db_)
    return out;
  std::unique_ptr<leveldb::Iterator> it{db_->NewIterator(leveldb::ReadOptions{})};
  for (it->Seek("a"); it->Valid() && it->key().starts_with("a"); it->Next())
    if (it->value().size() == 8)
      out[it->key().ToString().substr(1)] =
          static_cast<int64_t>(read_be64(it->value().ToString()));
  return out;
}

} // namespace nexus::chain
