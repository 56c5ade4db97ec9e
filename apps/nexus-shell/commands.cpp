#include "apps/nexus-shell/commands.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>

#include "actors/core/ledger_queries.hpp"
#include "apps/nexus-shell/detail.hpp"
#include "apps/nexus-shell/ledger_view.hpp"
#include "apps/nexus-shell/training_report.hpp"
#include "chain/contract.hpp"
#include "chain/governance.hpp"
#include "compute/errc.hpp"
#include "compute/npy.hpp"
#include "compute/workloads/matmul.hpp"

namespace nexus::shell {

using namespace detail;

namespace {

struct command_spec {
  std::string_view name;               // "submit matmul", "status", ...
  std::set<std::string_view> valued;   // flags that take a value
  std::set<std::string_view> switches; // flags that do not
  std::string_view usage;
};

const std::vector<command_spec>& specs() {
  static const std::vector<command_spec> all{
      {"submit matmul",
       {"a", "b", "m", "k", "n", "seed", "shards", "out", "rounds", "tolerance", "attempts",
        "label", "priority", "timeout", "budget", "verify"},
       {"detach"},
       "submit matmul --a A.npy --b B.npy [--out C.npy] [--shards N] [--detach]\n"
       "submit matmul --m M --k K --n N [--seed S] ...   (random operands)\n"
       "    options: --rounds R (Freivalds rounds), --tolerance T, --attempts N, --label "
       "L,\n"
       "             --priority P (share of the workers against other tasks),\n"
       "             --timeout SECONDS (fail the task if not done by then),\n"
       "             --budget MCC (the most its submitter pays; refused if it costs "
       "more),\n"
       "             --verify replicate:K (K workers compute each shard and a majority "
       "must\n"
       "             agree, instead of validators; also for submit infer and train)"},
      {"submit train",
       {"model", "data", "test", "epochs", "batch", "lr", "optimizer", "schedule", "seed",
        "out", "sample-rate", "micro-batch", "local-steps", "label", "priority", "timeout",
        "attempts", "verify"},
       {"detach"},
       "submit train --model mlp:784-256-128-10 --data fashion-mnist --out "
       "model.safetensors\n"
       "    options: --epochs N (10), --batch B (128), --lr R (1e-3), --optimizer "
       "adam|sgd,\n"
       "             --schedule constant|cosine, --seed S, --test DATA "
       "(fashion-mnist:test\n"
       "             with fashion-mnist), --sample-rate R (share of micro-batches\n"
       "             recomputed by validators, 0.25), --micro-batch ROWS (a lane's share\n"
       "             of each batch, 64: batch / ROWS lanes train side by side),\n"
       "             --local-steps N (batches per round: lanes take N steps apart, then\n"
       "             are averaged; 32; 0: synchronous steps, every batch's micro-batch\n"
       "             gradients summed); writes MODEL.csv and MODEL.svg beside\n"
       "    data: fashion-mnist, fashion-mnist:test, or X.npy,y.npy; model: mlp:... or a "
       ".yaml"},
      {"submit infer",
       {"model", "data", "out", "sample-rate", "shards", "label", "priority", "timeout",
        "attempts", "verify"},
       {"detach"},
       "submit infer --model model.safetensors --data fashion-mnist:test --out preds.npy\n"
       "    writes class probabilities (N x classes, float32) and prints the accuracy "
       "when\n"
       "    the data has labels; data: fashion-mnist[:test], X.npy,y.npy or X.npy;\n"
       "    --sample-rate R (share of rows recomputed by validators, 0.05)"},
      {"status",
       {},
       {},
       "status [TASK]          one task in detail (TASK: its id, or last: the one this\n"
       "                       shell submitted last), or every task"},
      {"tasks", {}, {}, "tasks                  every task, a line each"},
      {"nodes", {}, {}, "nodes                  every node, its role, load and results"},
      {"result",
       {"out"},
       {},
       "result TASK --out FILE write a finished task's output (.npy)"},
      {"wait", {}, {}, "wait TASK              block until a task finishes"},
      {"cancel",
       {},
       {},
       "cancel TASK            stop a task this shell's account submitted (what was\n"
       "                       validated stays paid)"},
      {"ledger",
       {},
       {},
       "ledger balance [NODE]  MCC balances (every account, or one)\n"
       "ledger history NODE    every contribution, verdict and payment of a node\n"
       "ledger block HEIGHT    one block: hashes, proposer, transactions\n"
       "ledger tail [N]        the last N blocks (default 10)\n"
       "ledger members [NAME]  each name's key and roles, as the chain binds them\n"
       "ledger verify          audit the chain: hashes, signatures against the keys "
       "names are bound to, the contract replayed, every index entry, the supply\n"
       "ledger govern FILE     hand in a rules change approved by more than two thirds "
       "of the ledger nodes (nexus-node governance approve makes approvals)"},
      {"help", {}, {}, "help                   this text"},
      {"quit", {}, {}, "quit                   leave (also: exit, Ctrl-D)"},
  };
  return all;
}

// Checks `cmd` against its spec; returns the spec's name for messages.
expected<const command_spec*> match(const command_line& cmd) {
  std::string name = cmd.words[0];
  if (name == "exit")
    name = "quit";
  if (name == "submit") {
    if (cmd.words.size() < 2)
      return fail("submit: which workload? (submit matmul ...)");
    name += " " + cmd.words[1];
  }
  for (const auto& spec : specs()) {
    if (spec.name != name)
      continue;
    for (const auto& [flag, value] : cmd.flags) {
      if (spec.valued.contains(flag)) {
        if (value.empty())
          return fail(name + ": --" + flag + " needs a value");
      } else if (spec.switches.contains(flag)) {
        if (!value.empty())
          return fail(name + ": --" + flag + " takes no value");
      } else {
        return fail(name + ": unknown flag --" + flag + " (try: help)");
      }
    }
    return &spec;
  }
  if (cmd.words[0] == "submit")
    return fail("submit: unknown workload '" + cmd.words[1]
                + "' (known: matmul, train, infer)");
  return fail("unknown command '" + cmd.words[0] + "' (try: help)");
}

// Flags that never take a value, in any command.
bool is_switch(const std::string& name) {
  for (const auto& spec : specs())
    if (spec.switches.contains(name))
      return true;
  return false;
}

} // namespace

expected<command_line> tokenize(std::string_view line) {
  std::vector<std::string> tokens;
  std::string current;
  bool in_token = false;
  char quote = 0;
  for (char c : line) {
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        current += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_token = true;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (in_token)
        tokens.push_back(std::move(current)), current.clear(), in_token = false;
    } else if (c == '#' && !in_token) {
      break; // a comment runs to the end of the line
    } else {
      current += c;
      in_token = true;
    }
  }
  if (quote)
    return fail(std::string{"unclosed quote "} + quote);
  if (in_token)
    tokens.push_back(std::move(current));
  command_line cmd;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto& tok = tokens[i];
    if (tok.size() > 2 && tok.starts_with("--")) {
      auto eq = tok.find('=');
      std::string name = tok.substr(2, eq == std::string::npos ? eq : eq - 2);
      std::string value;
      if (eq != std::string::npos)
        value = tok.substr(eq + 1);
      else if (i + 1 < tokens.size() && !tokens[i + 1].starts_with("--")
               && !is_switch(name))
        value = tokens[++i];
      if (cmd.flags.contains(name))
        return fail("--" + name + " given twice");
      cmd.flags[name] = value;
    } else {
      cmd.words.push_back(tok);
    }
  }
  return cmd;
}

session::session(client& api, std::ostream& out, bool interactive)
    : api_(api)
    , out_(out)
    , interactive_(interactive) {}

error session::execute(std::string_view line) {
  auto cmd = tokenize(line);
  if (!cmd)
    return cmd.error();
  if (cmd->words.empty()) {
    if (!cmd->flags.empty())
      return fail("a command comes before its flags (try: help)");
    return {};
  }
  auto spec = match(*cmd);
  if (!spec)
    return spec.error();
  auto name = (*spec)->name;
  if (name == "help") {
    help();
  } else if (name == "quit") {
    finished_ = true;
  } else if (name == "submit matmul") {
    return submit(*cmd);
  } else if (name == "submit train") {
    return submit_train(*cmd);
  } else if (name == "submit infer") {
    return submit_infer(*cmd);
  } else if (name == "status") {
    return status(*cmd);
  } else if (name == "tasks") {
    return tasks();
  } else if (name == "nodes") {
    return nodes();
  } else if (name == "result") {
    return result(*cmd);
  } else if (name == "wait") {
    return wait(*cmd);
  } else if (name == "cancel") {
    return cancel(*cmd);
  } else if (name == "ledger") {
    return ledger(*cmd);
  }
  return {};
}

error session::ledger(const command_line& cmd) {
  if (cmd.words.size() >= 2 && cmd.words[1] == "govern")
    return govern(cmd);
  static const std::map<std::string, ledger_question> questions{
      {"balance", ledger_question::balance}, {"history", ledger_question::history},
      {"block", ledger_question::block},     {"tail", ledger_question::tail},
      {"verify", ledger_question::verify},   {"members", ledger_question::members}};
  auto asked = cmd.words.size() < 2 ? questions.end() : questions.find(cmd.words[1]);
  if (asked == questions.end())
    return fail("ledger: balance, history, block, tail, members, verify or govern? (try: "
                "help)");
  const auto& kind = asked->first;
  ledger_query q{.question = asked->second};
  auto arg = cmd.words.size() > 2 ? cmd.words[2] : std::string{};
  if (cmd.words.size() > 3)
    return fail("ledger " + kind + ": one argument at most");
  if (q.question == ledger_question::history && arg.empty())
    return fail("ledger history: whose? (ledger history worker-1)");
  if (q.question == ledger_question::block || q.question == ledger_question::tail) {
    if (q.question == ledger_question::block && arg.empty())
      return fail("ledger block: which height? (ledger block 0)");
    if (!arg.empty()) {
      char* end = nullptr;
      auto n = std::strtoull(arg.c_str(), &end, 10);
      if (*end != '\0' || arg[0] == '-'
          || (q.question == ledger_question::tail && n > max_tail))
        return fail("ledger " + kind + ": expects a number, got '" + arg + "'");
      q.height = n;
      q.count = static_cast<uint32_t>(std::min<unsigned long long>(n, max_tail));
    }
  } else {
    q.account = arg;
  }
  auto a = api_.ledger(q);
  if (!a)
    return make_error(a.error().code(), "ledger " + kind + ": " + describe(a.error()));
  for (const auto& line : ledger_lines(q, *a))
    out_ << line << "\n";
  if (q.question == ledger_question::verify && !a->audit_ok)
    return fail("ledger " + kind + " failed");
  return {};
}

error session::govern(const command_line& cmd) {
  if (cmd.words.size() != 3)
    return fail("ledger govern: which file? (ledger govern change.txt)");
  auto change = chain::read_governance(cmd.words[2]);
  if (!change)
    return fail("ledger govern: " + describe(change.error()));
  auto receipt = api_.govern(*change);
  if (!receipt)
    return make_error(receipt.error().code(),
                      "ledger govern: " + describe(receipt.error()));
  if (!receipt->refused.empty())
    return fail("ledger govern: refused: " + receipt->refused.front());
  out_ << "rules from height " << change->change.height << ": "
       << chain::describe_rules(change->change.rules) << " (recorded in block "
       << receipt->height << ", " << change->approvals.size() << " approvals)\n";
  return {};
}

void session::help() {
  out_ << "commands:\n";
  for (const auto& spec : specs()) {
    std::string usage{spec.usage};
    for (std::size_t i = usage.find('\n'); i != std::string::npos;
         i = usage.find('\n', i + 1))
      usage.insert(i + 1, "  ");
    out_ << "  " << usage << "\n";
  }
  out_ << "Flags take a value as --name VALUE or --name=VALUE. Lines starting with # are "
          "comments.\n";
}

error session::submit(const command_line& cmd) {
  auto prefix = [](const error& err) {
    return make_error(static_cast<errc>(err.code()), "submit matmul: " + describe(err));
  };
  if (cmd.words.size() > 2)
    return fail("submit matmul: unexpected argument '" + cmd.words[2] + "'");
  bool files = cmd.flags.contains("a") || cmd.flags.contains("b");
  bool random =
      cmd.flags.contains("m") || cmd.flags.contains("k") || cmd.flags.contains("n");
  if (files == random)
    return fail("submit matmul: give either --a A.npy --b B.npy or --m M --k K --n N");
  compute::tensor a;
  compute::tensor b;
  std::string label;
  if (files) {
    if (!cmd.flags.contains("a") || !cmd.flags.contains("b"))
      return fail("submit matmul: both --a and --b are needed");
    auto ra = compute::read_npy(cmd.flags.at("a"));
    if (!ra)
      return prefix(ra.error());
    auto rb = compute::read_npy(cmd.flags.at("b"));
    if (!rb)
      return prefix(rb.error());
    a = std::move(*ra);
    b = std::move(*rb);
    label = cmd.flags.at("a") + " * " + cmd.flags.at("b");
  } else {
    constexpr uint64_t max_dim = 1 << 20;
    auto m = flag_uint(cmd, "m", 0, max_dim);
    auto k = flag_uint(cmd, "k", 0, max_dim);
    auto n = flag_uint(cmd, "n", 0, max_dim);
    auto seed = flag_uint(cmd, "seed", 1, UINT64_MAX);
    for (auto* x : {&m, &k, &n, &seed})
      if (!*x)
        return prefix(x->error());
    if (*m == 0 || *k == 0 || *n == 0)
      return fail("submit matmul: --m, --k and --n are all needed, each at least 1");
    if (static_cast<double>(*m) * static_cast<double>(*k) > (1 << 28)
        || static_cast<double>(*k) * static_cast<double>(*n) > (1 << 28)
        || static_cast<double>(*m) * static_cast<double>(*n) > (1 << 28))
      return fail("submit matmul: operands above 2^28 elements (1 GiB) are not supported");
    a = compute::random_tensor({*m, *k}, *seed);
    b = compute::random_tensor({*k, *n}, *seed + 1);
    label = "random " + std::to_string(*m) + "x" + std::to_string(*k) + "x"
            + std::to_string(*n);
  }
  if (auto err = compute::matmul::check_operands(a.shape(), b.shape()))
    return prefix(err);
  task_request req;
  if (auto err = common_options(cmd, req, label))
    return prefix(err);
  auto shards = flag_uint(cmd, "shards", 0, 1 << 20);
  auto rounds = flag_uint(cmd, "rounds", 0, 64);
  for (auto* x : {&shards, &rounds})
    if (!*x)
      return prefix(x->error());
  req.shards = static_cast<uint32_t>(*shards);
  req.verify_rounds = static_cast<uint32_t>(*rounds);
  if (auto i = cmd.flags.find("budget"); i != cmd.flags.end()) {
    auto budget = chain::parse_mcc(i->second);
    if (!budget || *budget == 0)
      return fail("submit matmul: --budget "
                  + (budget ? std::string{"must be above 0"} : describe(budget.error())));
    req.budget = *budget;
  }
  if (auto i = cmd.flags.find("tolerance"); i != cmd.flags.end()) {
    char* end = nullptr;
    req.tolerance = std::strtod(i->second.c_str(), &end);
    if (end != i->second.c_str() + i->second.size() || !(req.tolerance > 0)
        || !(req.tolerance < 1))
      return fail("submit matmul: --tolerance expects a number in (0, 1), got '" + i->second
                  + "'");
  }
  auto shape_a = compute::to_string(a.shape());
  auto shape_b = compute::to_string(b.shape());
  auto ack = api_.submit_matmul(std::move(a), std::move(b), req);
  if (!ack)
    return prefix(ack.error());
  out_ << "task " << ack->task_id << ": matmul " << shape_a << " * " << shape_b << " in "
       << ack->shard_count << " shards" << std::endl;
  if (cmd.flags.contains("detach")) {
    if (cmd.flags.contains("out"))
      out_ << "  (detached: fetch it with: result " << ack->task_id << " --out "
           << cmd.flags.at("out") << ")\n";
    return {};
  }
  return follow(ack->task_id, cmd.flags.contains("out") ? cmd.flags.at("out") : "");
}

expected<task_report> session::await_done(uint64_t task_id) {
  client::progress_fn draw;
  if (interactive_)
    draw = [this](const task_report& r) { out_ << progress_bar(r); };
  auto report = api_.wait(task_id, draw);
  if (interactive_)
    out_ << "\r\033[K";
  if (!report)
    return report.error();
  out_ << summary(*report) << std::endl;
  if (report->state != task_state::done)
    return make_error(errc::failed, "task " + std::to_string(task_id) + " "
                                        + to_string(report->state) + ": " + report->reason);
  return report;
}

error session::follow(uint64_t task_id, const std::string& out_path) {
  auto report = await_done(task_id);
  if (!report)
    return report.error();
  if (out_path.empty())
    return {};
  return save_output(task_id, out_path);
}

error session::save_output(uint64_t task_id, const std::string& path) {
  auto output = api_.result(task_id);
  if (!output)
    return output.error();
  if (auto err = compute::write_npy(path, *output))
    return err;
  out_ << "wrote " << path << " (" << compute::to_string(output->shape()) << ")\n";
  return {};
}

error session::status(const command_line& cmd) {
  if (cmd.words.size() == 1)
    return tasks();
  auto id = task_arg(cmd, "status", api_.last_task());
  if (!id)
    return id.error();
  auto r = api_.status(*id);
  if (!r)
    return r.error();
  out_ << "task " << r->task_id << " (" << r->label << ")\n"
       << "  state:     " << to_string(r->state) << "\n"
       << "  output:    " << compute::to_string(r->output_shape) << "\n"
       << "  shards:    " << r->shards_validated << "/" << r->shard_count << " validated, "
       << r->shards_in_flight << " in flight\n"
       << "  rejected:  " << r->results_rejected << " results, " << r->shards_reissued
       << " shards re-issued\n"
       << "  trust:     " << r->results_unchecked
       << " results accepted unchecked on their workers' records, "
       << r->verdicts_overturned << " verdicts overturned by audits\n"
       << "  elapsed:   " << seconds(r->elapsed_ns) << "\n";
  if (!r->hub.empty())
    out_ << "  hub:       " << r->hub
         << (r->moved_from.empty() ? std::string{}
                                   : " (moved from hub " + r->moved_from + ")")
         << "\n";
  if (!r->reason.empty())
    out_ << "  reason:    " << r->reason << "\n";
  if (!r->loss_curve.empty())
    out_ << "  loss:      " << sparkline(r->loss_curve) << "  " << std::fixed
         << std::setprecision(4) << r->loss_curve.front() << " -> " << r->loss_curve.back()
         << "\n";
  for (const auto& e : r->epochs)
    out_ << "  " << epoch_line(e) << "\n";
  return {};
}

error session::tasks() {
  auto list = api_.tasks();
  if (!list)
    return list.error();
  if (list->empty()) {
    out_ << "no tasks yet (try: submit matmul --m 512 --k 512 --n 512)\n";
    return {};
  }
  out_ << std::left << std::setw(17) << "TASK" << std::setw(12) << "STATE" << std::setw(12)
       << "SHARDS" << std::setw(10) << "REJECTED" << std::setw(10) << "ELAPSED"
       << "LABEL\n";
  for (const auto& r : *list) {
    out_ << std::setw(17) << r.task_id << std::setw(12) << to_string(r.state)
         << std::setw(12)
         << (std::to_string(r.shards_validated) + "/" + std::to_string(r.shard_count))
         << std::setw(10) << r.results_rejected << std::setw(10) << seconds(r.elapsed_ns)
         << r.label;
    if (!r.moved_from.empty())
      out_ << " (moved from hub " << r.moved_from << ")";
    out_ << "\n";
  }
  if (!list->front().hub.empty())
    out_ << "(tasks at hub " << list->front().hub << ")\n";
  return {};
}

namespace {

// "1/2" for a worker: shards held now, of its window.
std::string in_flight(const node_report& n) {
  auto now = std::to_string(n.in_flight);
  return n.window > 0 ? now + "/" + std::to_string(n.window) : now;
}

} // namespace

error session::nodes() {
  auto list = api_.nodes();
  if (!list)
    return list.error();
  // Names as wide as the longest (a browser node's is 24 characters), at least 18.
  int name_width = 18;
  for (const auto& n : *list)
    name_width = std::max(
        name_width, static_cast<int>(std::min<std::size_t>(n.info.name.size() + 2, 66)));
  out_ << std::left << std::setw(name_width) << "NODE" << std::setw(14) << "ROLE"
       << std::setw(34) << "DEVICE" << std::setw(9) << "GFLOP/S" << std::setw(9)
       << "THREADS" << std::setw(9) << "STATE" << std::setw(10) << "IN-FLIGHT"
       << std::setw(6) << "DONE"
       << "REJECTED\n";
  for (const auto& n : *list) {
    auto speed = n.info.gflops > 0
                     ? std::to_string(static_cast<int>(std::lround(n.info.gflops)))
                     : std::string{"-"};
    out_ << std::setw(name_width) << n.info.name.substr(0, 64) << std::setw(14)
         << to_string(n.info.role) << std::setw(34) << n.info.device.substr(0, 33)
         << std::setw(9) << speed << std::setw(9) << n.info.threads << std::setw(9)
         << to_string(n.state) << std::setw(10) << in_flight(n) << std::setw(6)
         << n.shards_done << n.shards_rejected << "\n";
  }
  return {};
}

error session::result(const command_line& cmd) {
  auto id = task_arg(cmd, "result", api_.last_task());
  if (!id)
    return id.error();
  if (!cmd.flags.contains("out"))
    return fail("result: where to? (result " + cmd.words[1] + " --out C.npy)");
  auto report = api_.wait(*id);
  if (!report)
    return report.error();
  if (report->state != task_state::done)
    return make_error(errc::failed, "result: task " + std::to_string(*id) + " "
                                        + to_string(report->state) + ": " + report->reason);
  return save_output(*id, cmd.flags.at("out"));
}

error session::wait(const command_line& cmd) {
  auto id = task_arg(cmd, "wait", api_.last_task());
  if (!id)
    return id.error();
  auto report = api_.wait(*id);
  if (!report)
    return report.error();
  out_ << summary(*report) << std::endl;
  return report->state == task_state::done
             ? error{}
             : make_error(errc::failed,
                          "task " + std::to_string(*id) + " " + to_string(report->state));
}

error session::cancel(const command_line& cmd) {
  auto id = task_arg(cmd, "cancel", api_.last_task());
  if (!id)
    return id.error();
  auto report = api_.cancel(*id);
  if (!report)
    return report.error();
  out_ << "task " << *id << " " << to_string(report->state) << ": "
       << report->shards_validated << "/" << report->shard_count << " shards validated"
       << std::endl;
  return {};
}

} // namespace nexus::shell
