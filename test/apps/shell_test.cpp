// nexus-shell in batch mode, as a real process: commands on standard input, results on
// standard output, errors on standard error, exit status 1 if any command failed.
#include <catch2/catch.hpp>

#include <sstream>

#include <array>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sys/wait.h>

#include "compute/gemm.hpp"
#include "compute/nn/safetensors.hpp"
#include "compute/npy.hpp"
#include "test/support/temp_dir.hpp"

using namespace nexus;

namespace {

// True if `pattern` matches somewhere in `text` (task ids are the submitter's, at random).
bool found(const std::string& text, const std::string& pattern) {
  return std::regex_search(text, std::regex{pattern});
}

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  return std::string{std::istreambuf_iterator<char>{in}, {}};
}

struct run_result {
  int status = -1;
  std::string out;
  std::string err;
};

// Runs the shell with `script` on its standard input (bounded by timeout(1)).
run_result run_shell(const test::temp_dir& dir, const std::string& script,
                     const std::string& args = "") {
  const char* shell = std::getenv("NEXUS_SHELL");
  REQUIRE(shell != nullptr);
  {
    std::ofstream in{dir.file("script.txt")};
    in << script;
  }
  auto cmd = "timeout 120 " + std::string{shell} + " --data " + dir.file("data") + " "
             + args + " < " + dir.file("script.txt") + " > " + dir.file("out.txt") + " 2> "
             + dir.file("err.txt");
  run_result r;
  auto rc = std::system(cmd.c_str());
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = slurp(dir.file("out.txt"));
  r.err = slurp(dir.file("err.txt"));
  return r;
}

} // namespace

TEST_CASE("the shell multiplies .npy files and writes the product", "[apps][shell]") {
  test::temp_dir dir;
  auto a = compute::random_tensor({123, 45}, 1);
  auto b = compute::random_tensor({45, 67}, 2);
  REQUIRE_FALSE(compute::write_npy(dir.file("a.npy"), a));
  REQUIRE_FALSE(compute::write_npy(dir.file("b.npy"), b));
  auto r = run_shell(dir, "submit matmul --a " + dir.file("a.npy") + " --b "
                              + dir.file("b.npy") + " --shards 5 --out " + dir.file("c.npy")
                              + "\nstatus last\ntasks\nnodes\n");
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  CHECK_THAT(r.out, Catch::Contains("in 5 shards"));
  CHECK_THAT(r.out, Catch::Contains("5/5 shards validated"));
  CHECK_THAT(r.out, Catch::Contains("worker-4"));
  auto c = compute::read_npy(dir.file("c.npy"));
  REQUIRE(c);
  CHECK(compute::max_relative_difference(*c, compute::multiply(a, b)) < 1e-6);
}

TEST_CASE("bad input gets one error line each and the shell goes on", "[apps][shell]") {
  test::temp_dir dir;
  REQUIRE_FALSE(compute::write_npy(dir.file("a.npy"), compute::tensor{512, 300}));
  REQUIRE_FALSE(compute::write_npy(dir.file("b.npy"), compute::tensor{200, 512}));
  {
    std::ofstream junk{dir.file("junk.npy")};
    junk << "not numpy";
  }
  auto r = run_shell(dir, "frobnicate\n"
                          "submit matmul --a "
                              + dir.file("a.npy") + " --b " + dir.file("b.npy")
                              + "\n"
                                "submit matmul --a "
                              + dir.file("junk.npy") + " --b " + dir.file("b.npy")
                              + "\n"
                                "submit matmul --a /nonexistent.npy --b "
                              + dir.file("b.npy")
                              + "\n"
                                "submit matmul --m 4 --k 4 --n 4 --colour red\n"
                                "submit matmul --m 4 --k 4\n"
                                "status 77\n"
                                "submit matmul --m 8 --k 4 --n 4\n");
  INFO(r.out << r.err);
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("error: unknown command 'frobnicate'"));
  CHECK_THAT(r.err, Catch::Contains("error: submit matmul: A is 512x300 but B is 200x512"));
  CHECK_THAT(r.err, Catch::Contains("not an .npy file"));
  CHECK_THAT(r.err, Catch::Contains("cannot open /nonexistent.npy"));
  CHECK_THAT(r.err, Catch::Contains("unknown flag --colour"));
  CHECK_THAT(r.err, Catch::Contains("--m, --k and --n are all needed"));
  CHECK_THAT(r.err, Catch::Contains("no task 77"));
  CHECK(found(r.out, "task [0-9]+ done")); // the last line still ran
}

TEST_CASE("with faulty workers the shell reports rejected and re-issued results",
          "[apps][shell]") {
  test::temp_dir dir;
  auto r = run_shell(dir, "submit matmul --m 300 --k 200 --n 100 --shards 8\nstatus last\n",
                     "--workers 4 --faulty-workers 2");
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("8/8 shards validated"));
  CHECK_THAT(
      r.out,
      Catch::Matches(
          "(.|\n)*rejected: +[1-9][0-9]* results, [1-9][0-9]* shards re-issued(.|\n)*"));
}

TEST_CASE("the shell refuses bad options with status 2", "[apps][shell]") {
  test::temp_dir dir;
  CHECK(run_shell(dir, "", "--workers many").status == 2);
  CHECK(run_shell(dir, "", "--workers 2 --faulty-workers 3").status == 2);
  auto help = run_shell(dir, "", "--help");
  CHECK(help.status == 0);
  CHECK_THAT(help.out, Catch::Contains("usage: nexus-shell"));
}

TEST_CASE("the ledger pays validated work once, penalizes rejected work, and keeps both",
          "[apps][ledger-shell]") {
  test::temp_dir dir;
  auto balance_of = [](const std::string& out, const std::string& account) {
    auto at = out.find("\n" + account + "  ");
    REQUIRE(at != std::string::npos);
    return std::stod(out.substr(at + account.size() + 3));
  };
  auto validators_balance = [](const std::string& out) {
    double sum = 0;
    for (std::string name : {"validator-1", "validator-2"})
      if (auto at = out.find("\n" + name + "  "); at != std::string::npos)
        sum += std::stod(out.substr(at + name.size() + 3));
    return sum;
  };
  auto r = run_shell(dir,
                     "submit matmul --m 512 --k 256 --n 128 --shards 8\n"
                     "ledger balance\nledger verify\nledger tail 5\n"
                     "ledger history faulty-worker-1\nledger block 0\nledger block 1\n",
                     "--faulty-workers 1");
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  auto out = "\n" + r.out;
  CHECK(balance_of(out, "faulty-worker-1") < 0);
  // 512x256x128: 33.6 MFLOP, 34 work units in all however it is cut (8 shards of 4.2
  // MFLOP), at 1000 micro-MCC per unit.
  double paid = 0;
  for (auto w : {"worker-1", "worker-2", "worker-3"})
    paid += balance_of(out, w);
  paid += validators_balance(out);
  // 34 units at 0.001 MCC; each audit of a verdict by a second validator (a fresh network
  // audits every result), 5 % more.
  CHECK(paid >= 34 * 0.001 - 1e-9);
  CHECK(paid <= 34 * 0.001 * 1.1 + 1e-9);
  // Validator-2 judged results as audits of validator-1's verdicts: judging work too.
  CHECK(balance_of(out, "validator-2") > 0);
  // The submitter is charged what the providers earned: the balances other than the
  // penalized worker's sum to zero.
  double sum = 0;
  std::istringstream lines{r.out};
  for (std::string line; std::getline(lines, line);)
    if (line.ends_with(" MCC") && !line.starts_with(" ")
        && !line.starts_with("faulty-worker-1 "))
      sum += std::stod(line.substr(line.find("  ") + 2));
  CHECK(sum == Approx(0).margin(1e-9));
  CHECK(found(r.out, "submission    task [0-9]+ by nexus-shell"));
  // The first block binds every node's name to its key, and the rules.
  CHECK_THAT(r.out, Catch::Contains("member        validator-2 validator, key "));
  CHECK_THAT(r.out, Catch::Contains("rules         v2: 0.001000 MCC per work unit"));
  CHECK_THAT(r.out, Catch::Contains("ledger OK: "));
  CHECK_THAT(r.out, Catch::Contains("INVALID, faulty-worker-1"));
  CHECK_THAT(r.out, Catch::Contains("penalty"));

  // The same data directory: balances survive, and grow with the next task.
  auto again = run_shell(dir, "submit matmul --m 512 --k 256 --n 128 --shards 8\n"
                              "ledger balance\nledger verify\n");
  INFO(again.out << again.err);
  CHECK(again.status == 0);
  auto out2 = "\n" + again.out;
  double paid2 = 0;
  for (auto w :
       {"worker-1", "worker-2", "worker-3", "worker-4", "validator-1", "validator-2"})
    if (out2.find("\n" + std::string{w} + "  ") != std::string::npos)
      paid2 += balance_of(out2, w);
  CHECK(paid2 >= paid + 34 * 0.001 - 1e-9);
  CHECK(paid2 <= paid + 34 * 0.001 * 1.1 + 1e-9);
  CHECK_THAT(again.out, Catch::Contains("ledger OK: "));
  CHECK(balance_of(out2, "faulty-worker-1") == balance_of(out, "faulty-worker-1"));

  // A budget below the task's cost is refused before any work; one above it is charged.
  auto budget =
      run_shell(dir, "submit matmul --m 512 --k 256 --n 128 --shards 8 --budget 0.01\n"
                     "submit matmul --m 512 --k 256 --n 128 --budget 0.5\n"
                     "submit matmul --m 8 --k 8 --n 8 --budget 1.2.3\n");
  CHECK(budget.status == 1);
  CHECK_THAT(budget.err,
             Catch::Contains("the task costs 0.034000 MCC (34 work units at "
                             "0.001000 MCC each), above its budget of 0.010000 MCC"));
  CHECK(found(budget.out, "task [0-9]+ done"));
  CHECK_THAT(budget.err, Catch::Contains("expected an amount of MCC"));

  // A rules change the ledger node did not approve, and files that hold no change.
  auto unapproved = dir.path() / "change.txt";
  std::ofstream{unapproved} << "chain " << std::string(64, 'a')
                            << "\nsequence 0\nheight 100\n"
                            << "rules 3 1 100 0 50\n";
  auto garbled = dir.path() / "garbled.txt";
  std::ofstream{garbled} << "chain 12\n";
  auto bad = run_shell(dir, "ledger block 99\nledger frobnicate\nledger history\n"
                            "ledger govern\nledger govern "
                                + (dir.path() / "none.txt").string() + "\nledger govern "
                                + garbled.string() + "\nledger govern "
                                + unapproved.string() + "\n");
  CHECK(bad.status == 1);
  CHECK_THAT(bad.err, Catch::Contains("ledger block: no block 99"));
  CHECK_THAT(
      bad.err,
      Catch::Contains("ledger: balance, history, block, tail, members, verify or govern?"));
  CHECK_THAT(bad.err, Catch::Contains("ledger history: whose?"));
  CHECK_THAT(bad.err, Catch::Contains("ledger govern: which file?"));
  CHECK_THAT(bad.err, Catch::Contains("ledger govern: cannot read"));
  CHECK_THAT(bad.err, Catch::Contains("garbled.txt: line 1: chain takes"));
  CHECK_THAT(bad.err, Catch::Contains("ledger govern: refused: a rules change for another "
                                      "chain"));
}

TEST_CASE("the shell signs as the user's account with a key kept beside its data",
          "[apps][ledger-shell]") {
  test::temp_dir dir;
  auto first = run_shell(dir,
                         "submit matmul --m 64 --k 32 --n 16\nledger members alice\n"
                         "ledger balance alice\n",
                         "--as alice");
  INFO(first.out << first.err);
  CHECK(first.status == 0);
  CHECK_THAT(first.out, Catch::Contains("alice  submitter  key "));
  CHECK_THAT(first.out, Catch::Contains("alice  -0.0"));
  CHECK(std::filesystem::exists(dir.file("data/users/alice/node.key")));
  // The same account next session: the same key.
  auto again = run_shell(dir, "submit matmul --m 64 --k 32 --n 16\n", "--as alice");
  CHECK(again.status == 0);
  // With the key gone, a new one cannot take over the account.
  std::filesystem::remove(dir.file("data/users/alice/node.key"));
  auto other = run_shell(dir, "submit matmul --m 64 --k 32 --n 16\n", "--as alice");
  CHECK(other.status == 1);
  CHECK_THAT(other.err, Catch::Contains("alice is bound on the ledger to key"));
  CHECK(run_shell(dir, "", "--as quorum").status != 0); // a name the network keeps
}

TEST_CASE("submit train writes a model PyTorch can load, its history and plot; "
          "submit infer uses it",
          "[apps][ai-shell]") {
  test::temp_dir dir;
  // 600 samples of 6 features leaning towards their class (0, 1 or 2).
  auto x = compute::random_tensor({600, 6}, 9);
  compute::tensor y{compute::shape_t{600}};
  for (std::size_t i = 0; i < 600; ++i) {
    y.values()[i] = static_cast<float>(i % 3);
    for (std::size_t f = 0; f < 6; ++f)
      x(i, f) *= 0.3f;
    x(i, i % 3) += 1.0f;
  }
  REQUIRE_FALSE(compute::write_npy(dir.file("x.npy"), x));
  REQUIRE_FALSE(compute::write_npy(dir.file("y.npy"), y));
  auto data = dir.file("x.npy") + "," + dir.file("y.npy");
  auto model = dir.file("m.safetensors");
  auto r = run_shell(
      dir, "submit train --model mlp:6-8-3 --data " + data + " --test " + data
               + " --epochs 3 --batch 32 --micro-batch 8 --local-steps 4 --lr 0.01"
                 " --schedule cosine --out "
               + model + "\nsubmit infer --model " + model + " --data " + data + " --out "
               + dir.file("p.npy") + "\nsubmit infer --model " + model + " --data "
               + dir.file("x.npy") + "\n");
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("epoch   3  loss"));
  CHECK_THAT(r.out, Catch::Contains("57/57 steps done")); // 19 steps of 32 per epoch
  auto at = r.out.find("accuracy ");
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(r.out.substr(at + 9)) > 0.8); // the test line of the last epoch agrees
  CHECK_THAT(r.out, Catch::Contains("of 600)"));
  auto weights = compute::nn::read_safetensors(model);
  REQUIRE(weights);
  CHECK(weights->tensors.size() == 4);
  CHECK(weights->tensors[0].name == "0.weight");
  CHECK_THAT(slurp(dir.file("m.csv")),
             Catch::StartsWith("epoch,loss,train_accuracy,test_accuracy,seconds\n1,"));
  CHECK_THAT(slurp(dir.file("m.svg")), Catch::StartsWith("<svg"));
  auto probs = compute::read_npy(dir.file("p.npy"));
  REQUIRE(probs);
  CHECK(probs->shape() == compute::shape_t{600, 3});

  // Bad inputs: clear errors, no crash.
  std::ofstream{dir.file("junk.safetensors")} << "not a model";
  auto bad = run_shell(
      dir, "submit infer --model " + dir.file("junk.safetensors") + " --data " + data
               + "\nsubmit train --model mlp:6-8-3 --data " + dir.file("missing.npy")
               + ",y.npy\n"
                 "submit train --model mlp:5-3 --data "
               + data
               + "\n"
                 "submit train --model mlp:6-8-3 --data "
               + data
               + " --optimizer lion\n"
                 "submit train --model mlp:6-8-3 --data "
               + data
               + " --micro-batch 0\n"
                 "submit train --model mlp:6-8-3 --data "
               + data + " --local-steps many\n");
  CHECK(bad.status == 1);
  CHECK_THAT(bad.err, Catch::Contains("malformed safetensors"));
  CHECK_THAT(bad.err, Catch::Contains("cannot open"));
  CHECK_THAT(bad.err, Catch::Contains("takes 5 features"));
  CHECK_THAT(bad.err, Catch::Contains("unknown optimizer 'lion'"));
  CHECK_THAT(bad.err, Catch::Contains("--micro-batch must be at least 1"));
  CHECK_THAT(bad.err, Catch::Contains("--local-steps"));
}
