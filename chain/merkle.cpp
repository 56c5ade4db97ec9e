#include "chain/merkle.hpp"

#include <algorithm>
#include <array>

namespace nexus::chain {

namespace {

digest inner(const digest& left, const digest& right) {
  std::array<uint8_t, 1 + 2 * sizeof(digest)> buf{};
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf.begin() + 1);
  std::copy(right.begin(), right.end(), buf.begin() + 1 + left.size());
  return sha256(buf);
}

// The next level up; a node without a sibling moves up as it is.
std::vector<digest> level_up(const std::vector<digest>& level) {
  std::vector<digest> up;
  up.reserve((level.size() + 1) / 2);
  for (std::size_t i = 0; i < level.size(); i += 2)
    up.push_back(i + 1 < level.size() ? inner(level[i], level[i + 1]) : level[i]);
  return up;
}

std::vector<digest> leaves(std::span<const digest> items) {
  std::vector<digest> out;
  out.reserve(items.size());
  for (const auto& item : items)
    out.push_back(merkle_leaf(item));
  return out;
}

} // namespace

digest merkle_leaf(const digest& item) {
  std::array<uint8_t, 1 + sizeof(digest)> buf{};
  buf[0] = 0x00;
  std::copy(item.begin(), item.end(), buf.begin() + 1);
  return sha256(buf);
}

digest merkle_root(std::span<const digest> items) {
  if (items.empty())
    return sha256({});
  auto level = leaves(items);
  while (level.size() > 1)
    level = level_up(level);
  return level.front();
}

merkle_proof merkle_prove(const std::vector<digest>& items, std::size_t index) {
  merkle_proof proof;
  if (index >= items.size())
    return proof;
  auto level = leaves(items);
  while (level.size() > 1) {
    auto sibling = index ^ 1;
    if (sibling < level.size())
      proof.push_back({level[sibling], sibling < index});
    level = level_up(level);
    index /= 2;
  }
  return proof;
}

std::vector<merkle_proof> merkle_prove_all(const std::vector<digest>& items) {
  std::vector<merkle_proof> proofs(items.size());
  auto level = leaves(items);
  std::size_t span = 1; // items under each node of `level`
  while (level.size() > 1) {
    for (std::size_t node = 0; node < level.size(); ++node) {
      auto sibling = node ^ 1;
      if (sibling >= level.size())
        continue;
      auto end = std::min(items.size(), (node + 1) * span);
      for (auto i = node * span; i < end; ++i)
        proofs[i].push_back({level[sibling], sibling < node});
    }
    level = level_up(level);
    span *= 2;
  }
  return proofs;
}

std::vector<std::vector<digest>> merkle_levels(std::span<const digest> items) {
  std::vector<std::vector<digest>> out;
  if (items.empty())
    return out;
  out.push_back(leaves(items));
  while (out.back().size() > 1)
    out.push_back(level_up(out.back()));
  return out;
}

bool merkle_proof_matches(const std::vector<std::vector<digest>>& levels, std::size_t index,
                          const merkle_proof& proof) {
  if (levels.empty() || index >= levels.front().size())
    return false;
  std::size_t step = 0;
  for (std::size_t k = 0, node = index; k + 1 < levels.size(); ++k, node /= 2) {
    auto sibling = node ^ 1;
    if (sibling >= levels[k].size())
      continue; // moves up unpaired: no step
    if (step >= proof.size() || proof[step].sibling != levels[k][sibling]
        || proof[step].left != (sibling < node))
      return false;
    ++step;
  }
  return step == proof.size();
}

digest merkle_climb(const digest& item, const merkle_proof& proof) {
  auto at = merkle_leaf(item);
  for (const auto& step : proof)
    at = step.left ? inner(step.sibling, at) : inner(at, step.sibling);
  return at;
}

bool merkle_verify(const digest& item, const merkle_proof& proof, const digest& root) {
  return merkle_climb(item, proof) == root;
}

} // namespace nexus::chain
