#include "chain/statements.hpp"

#include <algorithm>

#include "compute/errc.hpp"

namespace nexus::chain {

namespace {

constexpr std::size_t step_bytes = sizeof(digest) + 1;
constexpr std::size_t max_steps = 32;

std::vector<uint8_t> signed_message(std::string_view tag, const digest& root) {
  std::vector<uint8_t> out(tag.begin(), tag.end());
  out.push_back(0); // the tag ends here, whatever it is
  out.insert(out.end(), root.begin(), root.end());
  return out;
}

} // namespace

std::vector<statement_signature> sign_statements(std::span<const digest> statements,
                                                 std::string_view tag,
                                                 const node_key& key) {
  std::vector<digest> items(statements.begin(), statements.end());
  auto proofs = merkle_prove_all(items);
  auto sig = key.sign(signed_message(tag, merkle_root(items)));
  std::vector<statement_signature> out;
  out.reserve(items.size());
  for (auto& p : proofs)
    out.push_back({sig, std::move(p)});
  return out;
}

bool statement_signed(const public_key& key, const digest& statement,
                      const statement_signature& s, std::string_view tag) {
  return verify(key, signed_message(tag, merkle_climb(statement, s.proof)), s.sig);
}

bool statement_verifier::operator()(const public_key& key, const digest& statement,
                                    const statement_signature& s) {
  entry e{key, merkle_climb(statement, s.proof), s.sig};
  if (std::find(verified_.rbegin(), verified_.rend(), e) != verified_.rend())
    return true;
  if (!verify(key, signed_message(tag_, std::get<1>(e)), s.sig))
    return false;
  verified_.push_back(std::move(e));
  if (verified_.size() > capacity_)
    verified_.pop_front();
  return true;
}

std::vector<uint8_t> encode_proof(const merkle_proof& proof) {
  std::vector<uint8_t> out;
  out.reserve(proof.size() * step_bytes);
  for (const auto& step : proof) {
    out.insert(out.end(), step.sibling.begin(), step.sibling.end());
    out.push_back(step.left ? 1 : 0);
  }
  return out;
}

expected<merkle_proof> decode_proof(std::span<const uint8_t> bytes) {
  if (bytes.size() % step_bytes != 0 || bytes.size() / step_bytes > max_steps)
    return make_error(errc::corrupted,
                      "a Merkle proof of " + std::to_string(bytes.size()) + " bytes");
  merkle_proof out(bytes.size() / step_bytes);
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto at = bytes.subspan(i * step_bytes, step_bytes);
    std::copy(at.begin(), at.begin() + sizeof(digest), out[i].sibling.begin());
    if (at.back() > 1)
      return make_error(errc::corrupted,
                        "a Merkle proof step with side " + std::to_string(at.back()));
    out[i].left = at.back() == 1;
  }
  return out;
}

} // namespace nexus::chain
