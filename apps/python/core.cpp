// _nexuschain: the C++ half of the Python package `nexuschain` (apps/python/nexuschain/),
// over NexusChain's public API alone (actors/api/nexus.hpp).
//
// A `session` owns an actor system and a client of one network: an embedded one it
// started, or a running one it attached to. Every call that waits on the network releases
// the GIL and holds the session's lock instead (one client, one call at a time), so that
// other Python threads run meanwhile; waits are short slices (`wait`), so that the Python
// side can show progress and turn Ctrl-C into a cancel between them. Errors become the
// Python exceptions their codes call for, with the texts nexus-shell prints.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/logger.hpp>

#include "actors/api/nexus.hpp"

namespace py = pybind11;

namespace {

using namespace nexus;
using namespace std::chrono_literals;
using f32_array = py::array_t<float, py::array::c_style>;

// An error of NexusChain's, on its way to Python (translated in PYBIND11_MODULE).
struct failure : std::runtime_error {
  failure(errc c, const std::string& what)
      : std::runtime_error(what)
      , code(c) {}
  errc code;
};

// Text from the network as Python text: bytes that are not UTF-8 (an account name, a
// label) become U+FFFD instead of an error in every later call that meets them.
py::str text(const std::string& s) {
  PyObject* o =
      PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
  if (!o)
    throw py::error_already_set();
  return py::reinterpret_steal<py::str>(o);
}

[[noreturn]] void raise(const error& err) {
  throw failure{static_cast<errc>(err.code()), describe(err)};
}

template <class T>
T take(expected<T> x) {
  if (!x)
    raise(x.error());
  return std::move(*x);
}

[[noreturn]] void invalid(const std::string& what) {
  throw failure{errc::invalid_input, what};
}

// A C-contiguous float32 array (the Python side converts) as a tensor: a copy.
compute::tensor to_tensor(const f32_array& a, const char* what) {
  if (a.ndim() < 1 || a.ndim() > 4)
    invalid(std::string{what} + " must have 1 to 4 dimensions, not "
            + std::to_string(a.ndim()));
  compute::shape_t shape;
  for (py::ssize_t i = 0; i < a.ndim(); ++i)
    shape.push_back(static_cast<std::size_t>(a.shape(i)));
  const float* p = a.data();
  return compute::tensor{std::move(shape), std::vector<float>(p, p + a.size())};
}

// A tensor as a numpy array that owns it: no copy.
py::array to_array(compute::tensor t) {
  auto* owned = new compute::tensor(std::move(t));
  py::capsule owner(owned, [](void* p) { delete static_cast<compute::tensor*>(p); });
  std::vector<py::ssize_t> shape(owned->shape().begin(), owned->shape().end());
  return f32_array(shape, owned->data(), owner);
}

py::dict report_dict(const task_report& r) {
  py::dict d;
  d["task_id"] = r.task_id;
  d["label"] = text(r.label);
  d["state"] = to_string(r.state);
  d["workload"] = to_string(r.workload);
  d["shards"] = r.shard_count;
  d["shards_validated"] = r.shards_validated;
  d["shards_in_flight"] = r.shards_in_flight;
  d["results_rejected"] = r.results_rejected;
  d["shards_reissued"] = r.shards_reissued;
  d["results_unchecked"] = r.results_unchecked;
  d["verdicts_overturned"] = r.verdicts_overturned;
  d["reason"] = text(r.reason);
  d["elapsed_s"] = static_cast<double>(r.elapsed_ns) / 1e9;
  d["verify_s"] = static_cast<double>(r.verify_ns) / 1e9;
  d["gflop"] = r.flops / 1e9;
  d["output_shape"] = py::tuple(py::cast(r.output_shape));
  d["hub"] = text(r.hub);
  d["moved_from"] = text(r.moved_from);
  d["finished"] = r.finished();
  py::list epochs;
  for (const auto& e : r.epochs) {
    py::dict x;
    x["epoch"] = e.epoch;
    x["loss"] = e.loss;
    x["train_accuracy"] = e.train_accuracy;
    x["test_accuracy"] =
        e.test_accuracy < 0 ? py::object(py::none()) : py::cast(e.test_accuracy);
    x["seconds"] = e.seconds;
    epochs.append(x);
  }
  d["epochs"] = epochs;
  d["loss_curve"] = r.loss_curve;
  return d;
}

template <class T>
T option(const py::dict& opts, const char* key, T fallback) {
  return opts.contains(key) ? opts[key].cast<T>() : fallback;
}

// The options of a submission, as nexus-shell's flags give them (checked on the Python
// side for type and range; the network checks them again).
task_request request_of(const py::dict& opts) {
  task_request req;
  req.label = option<std::string>(opts, "label", "");
  req.shards = option<uint32_t>(opts, "shards", 0);
  req.verify_rounds = option<uint32_t>(opts, "rounds", 0);
  req.tolerance = option<double>(opts, "tolerance", 0);
  req.max_attempts = option<uint32_t>(opts, "attempts", 0);
  req.priority = option<uint32_t>(opts, "priority", 0);
  req.timeout_s = option<uint32_t>(opts, "timeout_s", 0);
  req.budget = option<int64_t>(opts, "budget", 0);
  req.replicas = option<uint32_t>(opts, "replicas", 0);
  req.model.sample_rate = option<double>(opts, "sample_rate", 0);
  if (opts.contains("micro_batch"))
    req.model.micro_rows = opts["micro_batch"].cast<uint32_t>();
  req.train.epochs = option<uint32_t>(opts, "epochs", req.train.epochs);
  req.train.batch = option<uint32_t>(opts, "batch", req.train.batch);
  req.train.lr = option<double>(opts, "lr", req.train.lr);
  req.train.optimizer = option<std::string>(opts, "optimizer", req.train.optimizer);
  req.train.schedule = option<std::string>(opts, "schedule", req.train.schedule);
  req.train.seed = option<uint64_t>(opts, "seed", req.train.seed);
  req.train.local_steps = option<uint32_t>(opts, "local_steps", req.train.local_steps);
  return req;
}

py::dict ack_dict(const task_ack& a) {
  py::dict d;
  d["task_id"] = a.task_id;
  d["shards"] = a.shard_count;
  return d;
}

api::labelled_data data_of(const f32_array& x,
                           const py::array_t<int32_t, py::array::c_style>& y, float mean,
                           float std_dev) {
  if (x.ndim() != 2)
    invalid("samples must be a 2-dimensional array (N x features), not "
            + std::to_string(x.ndim()) + "-dimensional");
  if (y.ndim() != 1 || y.shape(0) != x.shape(0))
    invalid("labels must be one per sample: " + std::to_string(x.shape(0))
            + " samples, labels of shape "
            + compute::to_string(compute::shape_t(y.shape(), y.shape() + y.ndim())));
  api::labelled_data d{.name = "samples", .x = to_tensor(x, "samples"), .y = {}};
  d.y.assign(y.data(), y.data() + y.size());
  d.input_mean = mean;
  d.input_std = std_dev;
  return d;
}

// Every call that talks to the network holds one: the GIL released, then the session's
// lock (never the other way round: nothing takes the lock while holding the GIL). On the
// way out it drops the reference CAF 0.17 keeps, in each thread that used a client, to
// the actor system's logger: the actor system's destructor waits for every such
// reference, so a thread of a pool that once called the network would keep close() from
// ever returning.
class network_call {
public:
  explicit network_call(std::mutex& mu)
      : lock_(mu) {}

  ~network_call() {
    caf::logger::set_current_actor_system(nullptr);
  }

  network_call(const network_call&) = delete;
  network_call& operator=(const network_call&) = delete;

private:
  py::gil_scoped_release nogil_; // first in, last out
  std::lock_guard<std::mutex> lock_;
};

// Python objects are made only after the call let go of the lock: code Python runs while
// making them (a finalizer) may call the session again.
class session {
public:
  ~session() {
    close();
  }

  static std::unique_ptr<session> local(const py::dict& opts) {
    api::local_options o;
    o.workers = option<std::size_t>(opts, "workers", o.workers);
    o.validators = option<std::size_t>(opts, "validators", o.validators);
    o.faulty_workers = option<std::size_t>(opts, "faulty_workers", o.faulty_workers);
    o.fault = option<std::string>(opts, "fault", o.fault);
    o.lying_validators = option<std::size_t>(opts, "lying_validators", o.lying_validators);
    o.lie_rate = option<double>(opts, "lie_rate", o.lie_rate);
    o.device = option<std::string>(opts, "device", o.device);
    o.data_dir = option<std::string>(opts, "data", o.data_dir);
    o.ledgers = option<std::size_t>(opts, "ledgers", o.ledgers);
    auto timeout = std::chrono::milliseconds{option<int64_t>(opts, "timeout_ms", 30'000)};
    auto s = std::unique_ptr<session>(new session);
    auto started = s->call_unlocked([&]() -> error {
      s->cfg_ = std::make_unique<caf::actor_system_config>();
      api::configure_local(*s->cfg_);
      s->sys_ = std::make_unique<caf::actor_system>(*s->cfg_);
      auto net = api::local_network::start(*s->sys_, o);
      if (!net)
        return net.error();
      s->local_ = std::move(*net);
      s->client_ = s->local_->connect(timeout);
      return {};
    });
    if (started)
      raise(started); // `s` goes with the GIL held: its destructor stops what started
    return s;
  }

  // The network of `topology`, through its hubs in turn; or, given an `address`
  // (HOST:PORT), the node there alone: over the topology's TLS if one is named, else over
  // plain TCP.
  static std::unique_ptr<session> connect(const std::string& topology,
                                          const std::string& address, int64_t timeout_ms) {
    auto s = std::unique_ptr<session>(new session);
    auto attached = s->call_unlocked([&]() -> error {
      api::network_settings settings;
      if (!topology.empty()) {
        auto found = api::settings_of(topology);
        if (!found)
          return found.error();
        settings = std::move(*found);
      }
      s->cfg_ = std::make_unique<caf::actor_system_config>();
      api::configure(*s->cfg_, settings);
      s->sys_ = std::make_unique<caf::actor_system>(*s->cfg_);
      auto timeout = std::chrono::milliseconds{timeout_ms};
      auto c = !address.empty()
                   ? api::client::connect_to(*s->sys_, address, topology, timeout)
                   : api::client::connect(*s->sys_, topology, timeout);
      if (!c)
        return c.error();
      s->client_ = std::move(*c);
      return {};
    });
    if (attached)
      raise(attached);
    return s;
  }

  void sign_as(const std::string& name, const std::string& dir) {
    auto err = call([&](api::client& c) -> error {
      auto who = api::identity::load_or_create(name, dir);
      if (!who)
        return who.error();
      c.sign_as(*who);
      return {};
    });
    if (err)
      raise(err);
  }

  py::str account() {
    return text(
        take(call([](api::client& c) { return expected<std::string>{c.account()}; })));
  }

  py::str upload(const f32_array& x) {
    auto t = to_tensor(x, "the array");
    auto ref = take(call([&](api::client& c) { return c.upload(std::move(t)); }));
    return text(remember(std::move(ref)));
  }

  py::dict submit_matmul(const py::object& a, const py::object& b, const py::dict& opts) {
    auto req = request_of(opts);
    if (py::isinstance<py::str>(a) && py::isinstance<py::str>(b)) {
      auto ia = a.cast<std::string>();
      auto ib = b.cast<std::string>();
      return ack_dict(take(call([&](api::client& c) -> expected<task_ack> {
        auto ra = known(ia);
        auto rb = known(ib);
        if (!ra || !rb)
          return !ra ? ra.error() : rb.error();
        return c.submit_matmul(*ra, *rb, std::move(req));
      })));
    }
    auto ta = to_tensor(a.cast<f32_array>(), "a");
    auto tb = to_tensor(b.cast<f32_array>(), "b");
    return ack_dict(take(call([&](api::client& c) {
      return c.submit_matmul(std::move(ta), std::move(tb), std::move(req));
    })));
  }

  py::dict submit_infer(const std::string& spec, const f32_array& weights,
                        const f32_array& x, const py::dict& opts) {
    auto req = request_of(opts);
    req.model.spec = spec;
    auto w = to_tensor(weights, "weights");
    auto t = to_tensor(x, "samples");
    return ack_dict(take(call([&](api::client& c) {
      return c.submit_infer(std::move(w), std::move(t), std::move(req));
    })));
  }

  py::dict submit_train(const std::string& spec, const py::object& train,
                        const py::object& test, const py::dict& opts) {
    auto req = request_of(opts);
    req.model.spec = spec;
    auto t = as_data(train);
    std::optional<api::labelled_data> v;
    if (!test.is_none())
      v = as_data(test);
    return ack_dict(take(call([&](api::client& c) {
      return c.submit_train(std::move(t), std::move(v), std::move(req));
    })));
  }

  py::dict status(uint64_t task) {
    return report_dict(take(call([&](api::client& c) { return c.status(task); })));
  }

  py::dict cancel(uint64_t task) {
    return report_dict(take(call([&](api::client& c) { return c.cancel(task); })));
  }

  // The task's report once it finished, or None after `seconds`.
  py::object wait(uint64_t task, double seconds) {
    if (!(seconds >= 0 && seconds <= 3600))
      invalid("a wait of 0 to 3600 s, not " + std::to_string(seconds));
    auto limit = std::chrono::milliseconds{static_cast<int64_t>(seconds * 1000)};
    auto r = call([&](api::client& c) { return c.wait(task, {}, limit); });
    if (!r && is(r.error(), errc::timeout))
      return py::none();
    return report_dict(take(std::move(r)));
  }

  py::array result(uint64_t task) {
    return to_array(take(call([&](api::client& c) { return c.result(task); })));
  }

  py::list nodes() {
    auto all = take(call([](api::client& c) { return c.nodes(); }));
    py::list out;
    for (const auto& n : all) {
      py::dict d;
      d["name"] = text(n.info.name);
      d["role"] = to_string(n.info.role);
      d["device"] = text(n.info.device);
      d["threads"] = n.info.threads;
      d["gflops"] = n.info.gflops;
      d["state"] = to_string(n.state);
      d["in_flight"] = n.in_flight;
      d["shards_done"] = n.shards_done;
      d["shards_rejected"] = n.shards_rejected;
      d["browser"] = n.info.name.starts_with("browser-");
      out.append(d);
    }
    return out;
  }

  // Micro-MCC by account (every account, or one).
  py::dict balances(const std::string& account) {
    auto a = take(call([&](api::client& c) {
      return c.ledger({.question = ledger_question::balance, .account = account});
    }));
    py::dict out;
    for (const auto& b : a.balances)
      out[text(b.account)] = b.micro_mcc;
    return out;
  }

  py::list history(const std::string& account) {
    auto a = take(call([&](api::client& c) {
      return c.ledger({.question = ledger_question::history, .account = account});
    }));
    py::list out;
    for (const auto& e : api::events_of(a)) {
      py::dict d;
      d["height"] = e.height;
      d["kind"] = e.kind;
      d["task_id"] = e.task_id;
      d["shard"] = e.shard_id;
      d["account"] = text(e.account);
      d["worker"] = text(e.worker);
      d["validator"] = text(e.validator);
      d["micro_mcc"] = e.micro_mcc;
      d["valid"] = e.valid;
      d["time_ms"] = e.time_ms;
      d["text"] = text(e.text);
      out.append(d);
    }
    return out;
  }

  py::dict verify() {
    auto a = take(call(
        [](api::client& c) { return c.ledger({.question = ledger_question::verify}); }));
    py::dict d;
    d["ok"] = a.audit_ok;
    d["blocks"] = a.audit_blocks;
    d["transactions"] = a.audit_transactions;
    d["problem"] = text(a.audit_problem);
    d["report"] = text(a.audit_report);
    return d;
  }

  // Stops an embedded network (waiting for its actors) or detaches; once a call in flight
  // in another thread returned.
  void close() {
    call_unlocked([&] {
      client_.reset();
      if (local_)
        local_->stop();
      local_.reset();
      sys_.reset(); // waits for every actor
      cfg_.reset();
      closed_ = true;
      return 0;
    });
  }

  bool closed() const noexcept {
    return closed_;
  }

private:
  session() = default;

  // f(client) as a network_call; errc::unavailable once closed.
  template <class F>
  auto call(F&& f) -> decltype(f(std::declval<api::client&>())) {
    network_call guard{mu_};
    if (!client_)
      return make_error(errc::unavailable, "this network was closed");
    return f(*client_);
  }

  // f() as a network_call (for what makes or unmakes the client).
  template <class F>
  std::invoke_result_t<F> call_unlocked(F&& f) {
    network_call guard{mu_};
    return f();
  }

  // Blobs uploaded through this session, by their id's hex text.
  std::string remember(blob_ref ref) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string id;
    for (auto byte : ref.id) {
      id += hex[byte >> 4];
      id += hex[byte & 15];
    }
    std::lock_guard lock{blobs_mu_};
    blobs_.insert_or_assign(id, std::move(ref));
    return id;
  }

  expected<blob_ref> known(const std::string& id) {
    std::lock_guard lock{blobs_mu_};
    auto it = blobs_.find(id);
    if (it == blobs_.end())
      return make_error(errc::not_found, "no array uploaded as " + id + " in this session");
    return it->second;
  }

  static api::labelled_data as_data(const py::object& data) {
    auto t = data.cast<py::tuple>();
    return data_of(t[0].cast<f32_array>(),
                   t[1].cast<py::array_t<int32_t, py::array::c_style>>(),
                   t[2].cast<float>(), t[3].cast<float>());
  }

  std::mutex mu_;       // one client call at a time
  std::mutex blobs_mu_; // blobs_, taken with or without the GIL, never waiting for either
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<api::local_network> local_;
  std::unique_ptr<api::client> client_;
  std::map<std::string, blob_ref> blobs_;
  std::atomic<bool> closed_ = false;
};

py::dict weights_dict(const api::model_weights& w) {
  py::dict tensors;
  for (const auto& [name, value] : w.tensors)
    tensors[py::str(name)] = to_array(value);
  py::dict out;
  out["spec"] = w.spec;
  out["tensors"] = tensors;
  out["metadata"] = w.metadata;
  return out;
}

api::model_weights weights_of(const std::string& spec, const py::dict& tensors,
                              const std::map<std::string, std::string>& metadata) {
  api::model_weights w{.spec = spec, .tensors = {}, .metadata = metadata};
  for (auto [name, value] : tensors)
    w.tensors.emplace_back(name.cast<std::string>(),
                           to_tensor(value.cast<f32_array>(), "a weight tensor"));
  return w;
}

} // namespace

PYBIND11_MODULE(_nexuschain, m) {
  m.doc() = "The C++ half of nexuschain (use the nexuschain package)";
  static py::exception<failure> nexus_error(m, "NexusError", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p)
        std::rethrow_exception(p);
    } catch (const failure& f) {
      PyObject* type = nullptr;
      switch (f.code) {
      case errc::invalid_input:
        type = PyExc_ValueError;
        break;
      case errc::timeout:
        type = PyExc_TimeoutError;
        break;
      default:
        break;
      }
      auto what = text(f.what());
      if (type) {
        PyErr_SetObject(type, what.ptr());
        return;
      }
      auto e = py::reinterpret_borrow<py::object>(nexus_error.ptr())(what);
      e.attr("code") = to_string(f.code);
      PyErr_SetObject(nexus_error.ptr(), e.ptr());
    }
  });

  py::class_<session>(m, "Session")
      .def_static("local", &session::local)
      .def_static("connect", &session::connect)
      .def("sign_as", &session::sign_as)
      .def("account", &session::account)
      .def("upload", &session::upload)
      .def("submit_matmul", &session::submit_matmul)
      .def("submit_infer", &session::submit_infer)
      .def("submit_train", &session::submit_train)
      .def("status", &session::status)
      .def("cancel", &session::cancel)
      .def("wait", &session::wait)
      .def("result", &session::result)
      .def("nodes", &session::nodes)
      .def("balances", &session::balances)
      .def("history", &session::history)
      .def("verify", &session::verify)
      .def("close", &session::close)
      .def_property_readonly("closed", &session::closed);

  m.def("load_data", [](const std::string& spec) {
    api::labelled_data d;
    {
      py::gil_scoped_release nogil;
      d = take(api::load_data(spec));
    }
    py::array_t<int32_t> y(static_cast<py::ssize_t>(d.y.size()));
    std::memcpy(y.mutable_data(), d.y.data(), d.y.size() * sizeof(int32_t));
    return py::make_tuple(to_array(std::move(d.x)), y, d.input_mean, d.input_std);
  });
  m.def("model_text", [](const std::string& spec) { return take(api::model_text(spec)); });
  // A training run's weights, with how its samples were standardized in the metadata.
  m.def("unflatten", [](const std::string& spec, const f32_array& flat, float input_mean,
                        float input_std) {
    auto w = take(api::unflatten(spec, to_tensor(flat, "weights")));
    api::note_standardization(w, {.input_mean = input_mean, .input_std = input_std});
    return weights_dict(w);
  });
  m.def("flatten", [](const std::string& spec, const py::dict& tensors) {
    auto [text, flat] = take(api::flatten(weights_of(spec, tensors, {})));
    return py::make_tuple(text, to_array(std::move(flat)));
  });
  m.def("read_weights", [](const std::string& path) {
    return weights_dict(take(api::read_weights(path)));
  });
  m.def("write_weights",
        [](const std::string& path, const std::string& spec, const py::dict& tensors,
           const std::map<std::string, std::string>& metadata) {
          auto w = weights_of(spec, tensors, metadata);
          if (auto err = api::write_weights(path, w))
            raise(err);
        });
  m.def("parse_mcc", [](const std::string& text) { return take(api::parse_mcc(text)); });
  m.def("format_mcc", [](int64_t micro) { return api::format_mcc(micro); });
}
