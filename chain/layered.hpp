// Maps and sets that copy in constant time, for the contract's state: a ledger node keeps
// the state after each proposed block aside until the block is decided, and the history
// it remembers (which shards were paid, which attempts were judged, which nonces were
// used) grows with the chain. A layered map is a shared, never-changed base and the
// entries changed since it was shared: a copy shares the base and copies the changes;
// flatten() folds the changes into the base (in place when nothing else shares it).
//
// An entry changed through find_mutable() is copied into the changes first, so what
// another copy sees never moves. Entries are never erased: what the contract remembers
// this way it remembers for good.
#pragma once

#include <map>
#include <memory>
#include <utility>

namespace nexus::chain {

template <class K, class V>
class layered_map {
public:
  const V* find(const K& key) const {
    if (auto it = changes_.find(key); it != changes_.end())
      return &it->second;
    if (base_)
      if (auto it = base_->find(key); it != base_->end())
        return &it->second;
    return nullptr;
  }

  bool contains(const K& key) const {
    return find(key) != nullptr;
  }

  /// The entry with the greatest key below `key`, or null.
  const std::pair<const K, V>* last_below(const K& key) const {
    const std::pair<const K, V>* best = nullptr;
    auto consider = [&](const std::map<K, V>& entries) {
      if (auto it = entries.lower_bound(key); it != entries.begin()) {
        --it;
        if (!best || best->first < it->first)
          best = &*it;
      }
    };
    consider(changes_); // first: a changed entry wins over the base's of its key
    if (base_)
      consider(*base_);
    return best;
  }

  /// The entry for `key`, to change, or null.
  V* find_mutable(const K& key) {
    if (auto it = changes_.find(key); it != changes_.end())
      return &it->second;
    if (base_)
      if (auto it = base_->find(key); it != base_->end())
        return &changes_.emplace(key, it->second).first->second;
    return nullptr;
  }

  /// Adds `value` for `key` unless it has an entry; true if it was added.
  bool emplace(const K& key, V value) {
    if (contains(key))
      return false;
    changes_.emplace(key, std::move(value));
    return true;
  }

  /// Sets the entry of `key` to `value`.
  void assign(const K& key, V value) {
    changes_.insert_or_assign(key, std::move(value));
  }

  /// Folds the changes into the base: in place if this is the base's only holder,
  /// otherwise into a copy of it.
  void flatten() {
    if (changes_.empty())
      return;
    if (!base_)
      base_ = std::make_shared<std::map<K, V>>();
    else if (base_.use_count() > 1)
      base_ = std::make_shared<std::map<K, V>>(*base_);
    for (auto& [key, value] : changes_)
      (*base_).insert_or_assign(key, std::move(value));
    changes_.clear();
  }

private:
  std::shared_ptr<std::map<K, V>> base_; // never changed while shared
  std::map<K, V> changes_;
};

/// A layered_map of keys alone.
template <class K>
class layered_set {
public:
  bool contains(const K& key) const {
    return entries_.contains(key);
  }

  /// Adds `key`; true if it was not there.
  bool insert(const K& key) {
    return entries_.emplace(key, marker{});
  }

  void flatten() {
    entries_.flatten();
  }

private:
  struct marker {};
  layered_map<K, marker> entries_;
};

} // namespace nexus::chain
