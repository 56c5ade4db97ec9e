#include "actors/core/task_table.hpp"

#include "messages/codec.hpp"

#include <algorithm>

#include <cmath>
#include <openssl/rand.h>
#include <tuple>
#include <utility>

#include "chain/contract.hpp"
#include "chain/membership.hpp"
#include "compute/errc.hpp"
#include "compute/gemm.hpp"

namespace nexus {

namespace {

uint64_t nanos(clock_type::duration d) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

} // namespace

// -- nodes ----------------------------------------------------------------------------

node_id task_table::add_node(node_info info) {
  auto streak = this->streak(info.name);
  nodes_.push_back({std::move(info)});
  nodes_.back().streak = streak;
  return static_cast<node_id>(nodes_.size() - 1);
}

void task_table::remove_node(node_id id) {
  if (id >= nodes_.size() || !nodes_[id].alive)
    return;
  nodes_[id].alive = false;
  for (auto& [task_id, task] : tasks_) {
    if (task.state != task_state::running)
      continue;
    for (auto& shard : task.shards) {
      std::vector<uint32_t> lost;
      for (auto& [attempt, where] : shard.running)
        if (where.worker == id
            || std::find(where.validators.begin(), where.validators.end(), id)
                   != where.validators.end())
          lost.push_back(attempt);
      for (auto attempt : lost)
        settle_attempt(shard, attempt);
      if (!lost.empty() && shard.state == shard_state::in_flight && shard.running.empty()) {
        shard.state = shard_state::pending;
        ++task.reissued;
      }
    }
  }
}

std::vector<node_report> task_table::node_reports() const {
  std::vector<node_report> out;
  for (const auto& node : nodes_) {
    // A node that left and joined again is listed once, as it is now.
    bool replaced = !node.alive && std::any_of(nodes_.begin(), nodes_.end(), [&](auto& n) {
      return n.alive && n.info.name == node.info.name && n.info.role == node.info.role;
    });
    if (replaced)
      continue;
    auto state = !node.alive    ? node_state::dead
                 : node.suspect ? node_state::suspect
                                : node_state::alive;
    auto window = node.info.role == node_role::worker ? window_of(node) : 0;
    out.push_back({node.info, state, node.in_flight, node.done, node.rejected,
                   node.peak_in_flight, window});
  }
  return out;
}

std::size_t task_table::alive_workers() const {
  return static_cast<std::size_t>(std::count_if(nodes_.begin(), nodes_.end(), [](auto& n) {
    return n.alive && n.info.role == node_role::worker;
  }));
}

// -- tasks ----------------------------------------------------------------------------

expected<task_ack> task_table::add_task(task_request req, clock_type::time_point now) {
  // As its submitter signed it, before any default is filled in.
  auto signed_digest = req.internal ? chain::digest{} : wire::request_digest(req);
  if (auto err = complete_request(req))
    return err;
  if (!req.internal && queued_ >= limits_.max_queued_tasks)
    return make_error(
        errc::exhausted,
        std::to_string(queued_)
            + " tasks are queued or running, the network's "
              "limit (topology: scheduler: max_queued); submit again when some "
              "have finished");
  if (req.replicas > 1 && alive_workers() < req.replicas)
    return make_error(errc::invalid_input, "replicate:" + std::to_string(req.replicas)
                                               + " needs " + std::to_string(req.replicas)
                                               + " workers; the network has "
                                               + std::to_string(alive_workers()));
  auto plan = plan_work(req, alive_workers());
  if (!plan)
    return plan.error();
  if (req.budget > 0 && limits_.micro_mcc_per_work_unit > 0) {
    auto units = nexus::work_units(0, plan->rows, plan->flops_per_row); // its shards' sum
    auto exact = static_cast<__int128>(units) * limits_.micro_mcc_per_work_unit;
    auto cost = static_cast<int64_t>(std::min<__int128>(exact, INT64_MAX));
    if (cost > req.budget)
      return make_error(
          errc::rejected,
          "the task costs " + chain::format_mcc(cost) + " (" + std::to_string(units)
              + " work units at " + chain::format_mcc(limits_.micro_mcc_per_work_unit)
              + " each), above its budget of " + chain::format_mcc(req.budget));
  }
  task_entry task;
  // The submitter's id (which the caller checked is free), or a training run's for its
  // step; else a fresh one.
  task.id = req.task_id != 0 && !has_task(req.task_id) ? req.task_id
                                                       : fresh_task_id(req.internal);
  task.seq = next_seq_++;
  task.request = std::move(req);
  task.request_digest = signed_digest;
  if (task.request.max_attempts == 0)
    task.request.max_attempts = limits_.max_attempts;
  for (const auto& range : plan->shards) {
    shard_entry shard;
    shard.range = range;
    task.shards.push_back(std::move(shard));
  }
  task.plan = std::move(*plan);
  task.started = now;
  auto ack = task_ack{task.id, static_cast<uint32_t>(task.shards.size())};
  if (!task.request.internal)
    ++queued_;
  tasks_.emplace(task.id, std::move(task));
  return ack;
}

uint32_t task_table::window_of(const node_entry& n) const {
  // Capacity-aware: a worker that measured k >= 2 times the slowest live worker's GFLOP/s
  // gets k times the window (at most 4 times), so a fast node takes more of every task.
  // Closer speeds count as equal: calibrations on a busy host differ by 1.5x between
  // identical nodes, and a window of 3 beside 2 gave one of three equal workers three
  // shards of six and another one (the 4096 matmul of cluster_bench waited on it).
  double slowest = 0;
  for (const auto& other : nodes_)
    if (other.alive && other.info.role == node_role::worker && other.info.gflops > 0)
      slowest = slowest == 0 ? other.info.gflops : std::min(slowest, other.info.gflops);
  if (slowest <= 0 || n.info.gflops <= 0)
    return limits_.window_per_worker;
  auto factor = std::clamp(n.info.gflops / slowest, 1.0, 4.0);
  if (factor < 2.0)
    return limits_.window_per_worker;
  return static_cast<uint32_t>(std::lround(limits_.window_per_worker * factor));
}

namespace {

// What a browser node computes (apps/web/worker.js): matmul and inference of plain MLPs,
// with output rows below 64 KiB (wider ones are committed to by row commitments, which it
// does not make); never training steps. Anything else it could only refuse, which would
// count against it.
bool browsers_can(const task_request& req) {
  constexpr std::size_t widest = (std::size_t{64} << 10) / sizeof(float);
  if (req.workload == workload_kind::matmul)
    return req.matmul.b.shape.size() == 2 && req.matmul.b.shape[1] < widest;
  if (req.workload != workload_kind::infer || !req.model.spec.starts_with("mlp:"))
    return false;
  return req.model.spec.find_first_not_of("0123456789-", 4) == std::string::npos;
}

} // namespace

std::optional<node_id> task_table::pick_worker(const shard_entry& shard,
                                               const task_request& req) const {
  bool browsers = browsers_can(req);
  std::optional<node_id> best;
  auto score = [&](node_id id) {
    const auto& n = nodes_[id];
    // Workers whose results were rejected go last; then the least loaded for their speed.
    double reject_rate = static_cast<double>(n.rejected) / (n.done + n.rejected + 1.0);
    double load = static_cast<double>(n.in_flight) / static_cast<double>(window_of(n));
    return std::make_tuple(reject_rate, load, id);
  };
  for (node_id id = 0; id < nodes_.size(); ++id) {
    const auto& n = nodes_[id];
    if (!n.alive || n.info.role != node_role::worker || n.in_flight >= window_of(n)
        || shard.failed_on.contains(id))
      continue;
    // A browser node costs nothing to make: each shard goes to one at most once, so
    // that throwaway keys cannot use up a shard's attempts and fail its task.
    if ((shard.browser_attempts > 0 || !browsers) && chain::browser_named(n.info.name))
      continue;
    bool running_here = std::any_of(shard.running.begin(), shard.running.end(),
                                    [&](auto& kv) { return kv.second.worker == id; });
    if (running_here)
      continue;
    if (!best || score(id) < score(*best))
      best = id;
  }
  return best;
}

std::vector<node_id> task_table::pick_validators(node_id worker, std::size_t count) const {
  // The least loaded first; a validator never checks work of its own node.
  std::vector<node_id> all;
  for (node_id id = 0; id < nodes_.size(); ++id) {
    const auto& n = nodes_[id];
    if (n.alive && n.info.role == node_role::validator
        && n.info.name != nodes_[worker].info.name)
      all.push_back(id);
  }
  std::stable_sort(all.begin(), all.end(), [&](node_id a, node_id b) {
    return nodes_[a].in_flight < nodes_[b].in_flight;
  });
  all.resize(std::min(all.size(), count));
  return all;
}

std::size_t task_table::eligible_workers(const shard_entry& shard) const {
  std::size_t n = 0;
  for (node_id id = 0; id < nodes_.size(); ++id)
    n += nodes_[id].alive && nodes_[id].info.role == node_role::worker
         && !shard.failed_on.contains(id);
  return n;
}

bool task_table::chance(double p) {
  return std::uniform_real_distribution<double>{0.0, 1.0}(rng_) < p;
}

bool task_table::trusted(const task_entry& task, node_id worker) {
  const auto& w = nodes_[worker];
  // Results summed into an output cannot be taken back out: such steps are always checked.
  // A browser node's record is never enough: a new key costs nothing, so a streak
  // earned under one could be spent on a lie and the key thrown away.
  if (workload_of(task.request).always_checked() || w.streak < limits_.trust_after
      || chain::browser_named(w.info.name))
    return false;
  auto p = std::max(limits_.check_floor, static_cast<double>(limits_.trust_after)
                                             / static_cast<double>(w.streak));
  return !chance(p);
}

std::optional<shard_dispatch> task_table::place_one(task_entry& task,
                                                    clock_type::time_point now) {
  auto shard = std::find_if(task.shards.begin(), task.shards.end(),
                            [](auto& s) { return s.state == shard_state::pending; });
  if (shard == task.shards.end())
    return std::nullopt;
  auto worker = pick_worker(*shard, task.request);
  if (!worker) {
    // Fail only when no worker that has not failed this shard could ever take it.
    bool any_eligible = false;
    for (node_id id = 0; id < nodes_.size(); ++id)
      any_eligible |= nodes_[id].alive && nodes_[id].info.role == node_role::worker
                      && !shard->failed_on.contains(id);
    if (!any_eligible && !shard->failed_on.empty() && alive_workers() > 0)
      finish(task, task_state::failed,
             "shard " + std::to_string(shard->range.id)
                 + " was rejected on every available worker",
             now);
    return std::nullopt;
  }
  auto replicas = task.request.replicas;
  if (replicas > 1 && shard->running.empty() && eligible_workers(*shard) < replicas)
    return std::nullopt; // a round starts only when all its replicas can run
  auto validators = pick_validators(*worker, 3);
  auto mode = replicas > 1             ? check_mode::replicate
              : trusted(task, *worker) ? check_mode::trust
                                       : check_mode::check;
  if (mode == check_mode::check) {
    if (validators.empty())
      return std::nullopt;
    // An audit while the first validator is new, and at audit_rate after.
    bool audit = validators.size() >= 2
                 && (nodes_[validators[0]].streak < limits_.trust_after
                     || chance(limits_.audit_rate));
    if (audit)
      mode = check_mode::audit;
    else
      validators.resize(1);
  } else {
    validators.clear();
  }
  ++shard->attempts;
  shard->browser_attempts += chain::browser_named(nodes_[*worker].info.name);
  if (shard->running.empty())
    shard->round = shard->attempts;
  shard->running[shard->attempts] = {*worker, validators};
  // A replicated shard stays pending until every replica of its round is placed.
  if (replicas <= 1 || shard->running.size() >= replicas)
    shard->state = shard_state::in_flight;
  shard->deadline = now + limits_.shard_deadline;
  auto& w = nodes_[*worker];
  w.peak_in_flight = std::max(w.peak_in_flight, ++w.in_flight);
  for (auto v : validators)
    ++nodes_[v].in_flight;
  task.state = task_state::running;
  shard_task st;
  st.task_id = task.id;
  st.shard_id = shard->range.id;
  st.attempt = shard->attempts;
  st.shard_count = static_cast<uint32_t>(task.shards.size());
  st.row_begin = shard->range.row_begin;
  st.row_end = shard->range.row_end;
  st.tolerance = task.request.tolerance;
  st.verify_rounds = task.request.verify_rounds;
  st.workload = task.request.workload;
  st.matmul = task.request.matmul;
  st.model = task.request.model;
  return shard_dispatch{task.id, std::move(st), *worker, std::move(validators),
                        mode,    shard->round};
}

std::vector<shard_dispatch> task_table::schedule(clock_type::time_point now) {
  std::vector<shard_dispatch> out;
  // Weighted round-robin across open tasks, oldest first: per pass, each task places
  // shards in proportion to its weight, its --priority or else its remaining shards.
  auto weight = [](const task_entry& t) -> double {
    if (t.request.priority > 0)
      return t.request.priority;
    return static_cast<double>(t.shards.size() - t.validated);
  };
  std::vector<task_entry*> open;
  double lightest = 0;
  for (auto& [task_id, task] : tasks_) {
    if (task.state != task_state::planned && task.state != task_state::running)
      continue;
    open.push_back(&task);
    auto w = std::max(1.0, weight(task));
    lightest = lightest == 0 ? w : std::min(lightest, w);
  }
  std::sort(open.begin(), open.end(),
            [](const task_entry* x, const task_entry* y) { return x->seq < y->seq; });
  bool progress = true;
  while (progress) {
    progress = false;
    for (auto* task : open) {
      auto quota = std::clamp(std::lround(weight(*task) / lightest), 1L, 64L);
      for (long i = 0; i < quota; ++i) {
        if (task->state != task_state::planned && task->state != task_state::running)
          break;
        auto d = place_one(*task, now);
        if (!d)
          break;
        out.push_back(std::move(*d));
        progress = true;
      }
    }
  }
  return out;
}

void task_table::release(node_id node) {
  if (node < nodes_.size() && nodes_[node].in_flight > 0)
    --nodes_[node].in_flight;
}

void task_table::settle_attempt(shard_entry& shard, uint32_t attempt) {
  auto i = shard.running.find(attempt);
  if (i == shard.running.end())
    return;
  release(i->second.worker);
  for (auto v : i->second.validators)
    release(v);
  shard.running.erase(i);
}

task_table::node_entry* task_table::node_named(const std::string& name, node_role role) {
  for (auto& n : nodes_)
    if (n.alive && n.info.name == name && n.info.role == role)
      return &n;
  return nullptr;
}

void task_table::revoke_resting_on(node_id node) {
  for (auto& [task_id, task] : tasks_) {
    // Summed gradients cannot be taken back out (a training run tolerates a bad step).
    if (task.state != task_state::running || workload_of(task.request).always_checked())
      continue;
    for (auto& shard : task.shards) {
      if (shard.state != shard_state::validated
          || (shard.unchecked_from != node && shard.approved_alone_by != node))
        continue;
      if (shard.unchecked_from == node)
        shard.failed_on.insert(node);
      shard.state = shard_state::pending;
      shard.unchecked_from.reset();
      shard.approved_alone_by.reset();
      --task.validated;
      ++task.reissued;
      revoked_.emplace_back(task_id, shard.range.id);
    }
  }
}

verdict_effect task_table::on_judgment(const judgment& j) {
  const auto& v = j.verdict;
  auto t = tasks_.find(v.task_id);
  if (t == tasks_.end() || v.shard_id >= t->second.shards.size())
    return verdict_effect::stale;
  auto& task = t->second;
  auto& shard = task.shards[v.shard_id];
  auto where = shard.running.find(v.attempt);
  if (where == shard.running.end())
    return verdict_effect::stale; // its worker or validator was given up on
  auto placed = where->second;
  auto worker = placed.worker;
  nodes_[worker].suspect = false; // everyone answered
  for (auto id : placed.validators) {
    nodes_[id].suspect = false;
    ++nodes_[id].done; // judged, whatever the verdict
  }
  // Trust: a validator an audit overturned starts over; those whose verdict stands gain.
  task.overturned += static_cast<uint32_t>(j.overturned.size());
  for (const auto& name : j.overturned)
    for (auto id : placed.validators)
      if (nodes_[id].info.name == name) {
        nodes_[id].streak = 0;
        ++nodes_[id].rejected;
        streaks_[name] = 0;
        revoke_resting_on(id); // what it approved alone is judged again
      }
  for (const auto& name : j.validators)
    for (auto id : placed.validators)
      if (nodes_[id].info.name == name)
        streaks_[name] = ++nodes_[id].streak;
  // A checked result moves its worker's streak; so does one the aggregator found forged
  // or malformed. An unchecked valid one does not, nor does a dispute nobody decided.
  if (!j.disputed && (j.checked || !v.valid)) {
    auto& w = nodes_[worker];
    w.streak = v.valid ? w.streak + 1 : 0;
    streaks_[w.info.name] = w.streak;
    if (!v.valid)
      revoke_resting_on(worker); // what it was trusted with runs again
  }
  settle_attempt(shard, v.attempt);
  task.verify_ns += v.check_ns;
  if (task.state != task_state::running || shard.state == shard_state::validated) {
    // A replica outvoted after its shard was decided is still a rejected result.
    if (!v.valid && j.checked && !j.disputed && task.request.replicas > 1) {
      ++nodes_[worker].rejected;
      ++task.rejected;
      return verdict_effect::rejected_late;
    }
    return verdict_effect::stale;
  }
  if (v.valid) {
    ++nodes_[worker].done;
    shard.state = shard_state::validated;
    if (!j.checked) {
      shard.unchecked_from = worker;
      ++task.unchecked;
    } else if (j.validators.size() == 1) {
      for (auto id : placed.validators)
        if (nodes_[id].info.name == j.validators.front())
          shard.approved_alone_by = id;
    }
    ++task.validated;
    return verdict_effect::accepted;
  }
  if (!j.disputed) {
    ++nodes_[worker].rejected;
    ++task.rejected;
    shard.failed_on.insert(worker);
  }
  if (!shard.running.empty())
    return verdict_effect::reissue; // another attempt is still under way
  if (shard.attempts - shard.browser_attempts >= task.request.max_attempts) {
    finish(task, task_state::failed,
           "shard " + std::to_string(v.shard_id) + " rejected "
               + std::to_string(shard.attempts) + " times (last from " + v.worker + ": "
               + v.reason + ")",
           clock_type::now());
    return verdict_effect::task_failed;
  }
  shard.state = shard_state::pending;
  ++task.reissued;
  return verdict_effect::reissue;
}

std::vector<std::pair<uint64_t, uint32_t>> task_table::take_revoked() {
  return std::exchange(revoked_, {});
}

void task_table::set_streaks(const std::map<std::string, uint32_t>& streaks) {
  for (const auto& [name, streak] : streaks) {
    streaks_[name] = streak;
    for (auto& n : nodes_)
      if (n.info.name == name)
        n.streak = streak;
  }
}

uint32_t task_table::streak(const std::string& name) const {
  auto it = streaks_.find(name);
  return it == streaks_.end() ? 0 : it->second;
}

std::size_t task_table::expire(clock_type::time_point now) {
  reduce_finished(now);
  std::size_t count = 0;
  for (auto& [task_id, task] : tasks_) {
    auto limit = std::chrono::seconds{task.request.timeout_s};
    if ((task.state == task_state::running || task.state == task_state::planned)
        && task.request.timeout_s > 0 && now - task.started >= limit) {
      auto waiting = waiting_reason();
      finish(task, task_state::failed,
             "timed out after " + std::to_string(task.request.timeout_s) + " s with "
                 + std::to_string(task.validated) + " of "
                 + std::to_string(task.shards.size()) + " shards validated"
                 + (waiting.empty() ? "" : " (" + waiting + ")"),
             now);
      continue;
    }
    if (task.state != task_state::running)
      continue;
    for (auto& shard : task.shards) {
      if (shard.state != shard_state::in_flight || shard.deadline > now)
        continue;
      shard.deadline = now + limits_.shard_deadline;
      for (auto& [attempt, where] : shard.running) {
        nodes_[where.worker].suspect = true;
        for (auto v : where.validators)
          nodes_[v].suspect = true;
      }
      if (shard.attempts - shard.browser_attempts >= task.request.max_attempts)
        continue;
      // Speculative re-issue: the late attempt keeps running; the first valid wins.
      shard.state = shard_state::pending;
      ++task.reissued;
      ++count;
    }
  }
  return count;
}

shard_work task_table::work_of(uint64_t task_id, uint32_t shard_id) const {
  auto t = tasks_.find(task_id);
  if (t == tasks_.end() || shard_id >= t->second.shards.size())
    return {};
  const auto& task = t->second;
  const auto& range = task.shards[shard_id].range;
  shard_work out{
      .units = nexus::work_units(range.row_begin, range.row_end, task.plan.flops_per_row),
      .row_begin = range.row_begin,
      .row_end = range.row_end};
  if (!task.request.internal && !task.request.hubs.empty()) // the ledger asks for it then
    out.request = task.request_digest;
  return out;
}

void task_table::unmerge_running() {
  for (auto& [task_id, task] : tasks_) {
    if (task.state != task_state::running)
      continue;
    for (auto& shard : task.shards) {
      if (shard.state != shard_state::validated)
        continue;
      shard.state = shard_state::pending;
      ++task.reissued;
    }
    task.validated = 0;
  }
}

void task_table::on_output(uint64_t task_id, clock_type::time_point now) {
  auto t = tasks_.find(task_id);
  if (t != tasks_.end() && t->second.state == task_state::running)
    finish(t->second, task_state::done, {}, now);
}

void task_table::fail(uint64_t task_id, std::string reason, clock_type::time_point now) {
  auto t = tasks_.find(task_id);
  if (t != tasks_.end()
      && (t->second.state == task_state::running || t->second.state == task_state::planned))
    finish(t->second, task_state::failed, std::move(reason), now);
}

void task_table::cancel(uint64_t task_id, std::string reason, clock_type::time_point now) {
  auto t = tasks_.find(task_id);
  if (t != tasks_.end() && open(t->second))
    finish(t->second, task_state::cancelled, std::move(reason), now);
}

const task_request* task_table::request(uint64_t task_id) const {
  auto t = tasks_.find(task_id);
  return t == tasks_.end() ? nullptr : &t->second.request;
}

void task_table::finish(task_entry& task, task_state state, std::string reason,
                        clock_type::time_point now) {
  if (open(task) && !task.request.internal)
    --queued_;
  task.state = state;
  task.reason = std::move(reason);
  if (state == task_state::failed || state == task_state::cancelled)
    failed_.push_back(task.id);
  task.finished = now;
  for (auto& shard : task.shards)
    while (!shard.running.empty())
      settle_attempt(shard, shard.running.begin()->first);
  if (!task.request.internal) // a training run's steps are erased by their run
    finishing_.emplace_back(now, task.id);
}

void task_table::reduce_finished(clock_type::time_point now) {
  // Late answers (an audit's verdict, a result past its deadline) still find the whole
  // task for a while; then only its report stays, and the oldest reports go.
  auto age =
      std::max<clock_type::duration>(limits_.shard_deadline, std::chrono::minutes{1});
  while (!finishing_.empty() && finishing_.front().first + age <= now) {
    auto id = finishing_.front().second;
    finishing_.pop_front();
    auto t = tasks_.find(id);
    if (t == tasks_.end() || open(t->second))
      continue;
    finished_.emplace(id, make_report(t->second, now));
    finished_order_.push_back(id);
    tasks_.erase(t);
  }
  while (finished_.size() > limits_.reports_kept) {
    auto id = finished_order_.front();
    finished_order_.pop_front();
    finished_.erase(id);
    forgotten_.insert(id);
    forgotten_order_.push_back(id);
    if (forgotten_order_.size() > std::max<std::size_t>(limits_.reports_kept, 1024)) {
      forgotten_.erase(forgotten_order_.front());
      forgotten_order_.pop_front();
    }
  }
}

std::vector<uint64_t> task_table::take_failed() {
  return std::exchange(failed_, {});
}

bool task_table::is_open(uint64_t task_id) const {
  auto t = tasks_.find(task_id);
  return t != tasks_.end() && open(t->second);
}

bool task_table::all_validated(uint64_t task_id) const {
  auto t = tasks_.find(task_id);
  return t != tasks_.end() && t->second.validated == t->second.shards.size();
}

std::string task_table::waiting_reason() const {
  bool validator = std::any_of(nodes_.begin(), nodes_.end(), [](auto& n) {
    return n.alive && n.info.role == node_role::validator;
  });
  if (alive_workers() == 0)
    return "waiting for a worker to join";
  if (!validator)
    return "waiting for a validator to join";
  return {};
}

task_report task_table::make_report(const task_entry& task,
                                    clock_type::time_point now) const {
  task_report r;
  r.task_id = task.id;
  r.label = task.request.label;
  r.state = task.state;
  r.shard_count = static_cast<uint32_t>(task.shards.size());
  r.shards_validated = task.validated;
  for (const auto& shard : task.shards)
    r.shards_in_flight += shard.state == shard_state::in_flight ? 1 : 0;
  r.results_rejected = task.rejected;
  r.results_unchecked = task.unchecked;
  r.verdicts_overturned = task.overturned;
  r.submission_nonce = task.request.nonce;
  r.shards_reissued = task.reissued;
  r.reason = task.reason;
  if (r.reason.empty() && !r.finished()) {
    r.reason = waiting_reason();
    if (r.reason.empty() && task.validated == task.shards.size())
      r.reason = "merging the validated shards";
  }
  auto end = r.finished() ? task.finished : now;
  r.elapsed_ns = nanos(end - task.started);
  r.flops = task.plan.flops();
  r.output_shape = task.plan.output_shape;
  r.workload = task.request.workload;
  r.verify_ns = task.verify_ns;
  return r;
}

std::optional<task_report> task_table::report(uint64_t task_id,
                                              clock_type::time_point now) const {
  auto t = tasks_.find(task_id);
  if (t != tasks_.end())
    return make_report(t->second, now);
  if (auto f = finished_.find(task_id); f != finished_.end())
    return f->second;
  return std::nullopt;
}

std::vector<task_report> task_table::reports(clock_type::time_point now) const {
  std::vector<task_report> out;
  out.reserve(finished_.size() + tasks_.size());
  for (auto id : finished_order_) // oldest first
    out.push_back(finished_.at(id));
  std::vector<const task_entry*> open;
  for (const auto& [id, task] : tasks_)
    if (!task.request.internal)
      open.push_back(&task);
  std::sort(open.begin(), open.end(),
            [](const task_entry* x, const task_entry* y) { return x->seq < y->seq; });
  for (const auto* task : open)
    out.push_back(make_report(*task, now));
  return out;
}

uint64_t task_table::fresh_task_id(bool internal) {
  constexpr auto base = chain::internal_task_base;
  for (;;) {
    uint64_t x = 0; // unpredictable: ids are public, and a known next one could be taken
    RAND_bytes(reinterpret_cast<unsigned char*>(&x), sizeof(x));
    auto id = internal ? base + 1 + x % (UINT64_MAX - base - 1) : 1 + x % (base - 1);
    if (!has_task(id))
      return id;
  }
}

bool task_table::has_task(uint64_t task_id) const {
  return tasks_.contains(task_id) || finished_.contains(task_id)
         || forgotten_.contains(task_id);
}

} // namespace nexus
