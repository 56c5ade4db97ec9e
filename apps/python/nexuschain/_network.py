"""The Python side of nexuschain: argument checks, numpy conversions, task handles,
progress bars and Ctrl-C, over the C++ module _nexuschain (apps/python/core.cpp)."""

import atexit
import getpass
import math
import numbers
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import weakref
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

import numpy as np

import _nexuschain as _core

NexusError = _core.NexusError

# How long one call into the network waits for a task before Python gets control back
# (for the progress bar, Ctrl-C and other threads).
_SLICE_S = 0.2

_open_networks = weakref.WeakSet()


@atexit.register
def _close_all():
    for net in list(_open_networks):
        net.close()


# ---- checks and conversions ------------------------------------------------------------

def _count(name, value, lo=0, hi=2**32 - 1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be from {lo} to {hi}, not {value}")
    return int(value)


def _number(name, value, lo, hi, lo_open=False, hi_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, not {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi):
        left, right = "(" if lo_open else "[", ")" if hi_open else "]"
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}, not {value!r}")
    return v


def _float32(name, x, ndim=None):
    """x as a C-contiguous float32 array: numeric dtypes are converted (float64 rounds to
    float32); anything else is refused."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x)
    except Exception as e:  # ragged lists and the like
        raise ValueError(f"{name} is not an array: {e}") from None
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name} has dtype {a.dtype}: only bool, integer and float arrays "
                         "can be sent (they travel as float32)")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    # NaN and infinities (float64 beyond float32's range becomes one) are refused by the
    # client in C++, in the pass that hashes the operand anyway.
    return np.ascontiguousarray(a, dtype=np.float32)


def _labels(name, y, rows):
    a = np.asarray(y)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1 or a.shape[0] != rows:
        raise ValueError(f"{name} must hold one label per sample: {rows} samples, labels of "
                         f"shape {a.shape}")
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
            raise ValueError(f"{name} must be whole class numbers")
    elif a.dtype.kind not in "biu":
        raise ValueError(f"{name} has dtype {a.dtype}: labels are class numbers")
    if a.size and (a.min() < 0 or a.max() >= 65536):
        raise ValueError(f"{name} must be class numbers from 0 to 65535")
    return np.ascontiguousarray(a, dtype=np.int32)


def _path(name, p):
    """An existing regular file's path, as bytes for C++ (any name the OS allows)."""
    p = os.fspath(p)
    if isinstance(p, bytes):
        p = os.fsdecode(p)
    if not p or not os.path.exists(p):
        raise FileNotFoundError(2, f"{name}: no such file", p)
    if os.path.isdir(p):
        raise IsADirectoryError(21, f"{name}: a directory, not a file", p)
    return os.fsencode(p)


def _directory(name, p):
    p = os.fsdecode(os.fspath(p))
    if not p:
        raise ValueError(f"{name} names a directory; it cannot be empty")
    return os.fsencode(p)


def _micro_mcc(budget):
    try:
        d = Decimal(str(budget))
    except InvalidOperation:
        raise ValueError(f"budget must be an amount of MCC, not {budget!r}") from None
    if not d.is_finite() or d <= 0:
        raise ValueError(f"budget must be above 0 MCC, not {budget!r}")
    return _core.parse_mcc(format(d, "f"))


def _common(opts, *, label=None, verify=None, rounds=None, tolerance=None, shards=None,
            budget=None, priority=None, timeout=None, attempts=None):
    """The options every submission takes, as nexus-shell's flags give them."""
    if label is not None:
        opts["label"] = str(label)
    if verify is not None:
        m = re.fullmatch(r"replicate:(\d)", str(verify))
        if verify == "validators":
            opts["replicas"] = 0
        elif m and 2 <= int(m.group(1)) <= 9:
            opts["replicas"] = int(m.group(1))
        else:
            raise ValueError(f"verify takes 'validators' or 'replicate:K' with K from 2 to 9, "
                             f"not {verify!r}")
    if rounds is not None:
        opts["rounds"] = _count("rounds", rounds, 0, 64)
    if tolerance is not None:
        opts["tolerance"] = _number("tolerance", tolerance, 0, 1, lo_open=True, hi_open=True)
    if shards is not None:
        opts["shards"] = _count("shards", shards, 0, 1 << 20)
    if budget is not None:
        opts["budget"] = _micro_mcc(budget)
    if priority is not None:
        opts["priority"] = _count("priority", priority, 0, 1000)
    if timeout is not None:
        t = _number("timeout", timeout, 0, 7 * 24 * 3600, lo_open=True)
        opts["timeout_s"] = max(1, math.ceil(t))
    if attempts is not None:
        opts["attempts"] = _count("attempts", attempts, 0, 100)
    return opts


def _interactive():
    if "ipykernel" in sys.modules:
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _progress_bar(progress, total, desc, unit="shard"):
    """A tqdm bar when asked for (True), or by default where tqdm is installed and the
    session is interactive; None otherwise."""
    if progress is False or (progress is None and not _interactive()):
        return None
    try:
        if "ipykernel" in sys.modules:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
    except ImportError:
        if progress:
            raise ValueError("progress=True needs tqdm (Debian's python3-tqdm)") from None
        return None
    return tqdm(total=total, desc=desc, unit=unit, leave=False)


# ---- values ----------------------------------------------------------------------------

class Blob(NamedTuple):
    """An array already in the network's blob store (Network.upload): submissions name it
    and nothing travels again."""
    id: str
    shape: tuple


class Dataset(NamedTuple):
    """Samples and labels as the network trains on them. input_mean and input_std say how
    the samples were standardized from what the files hold (Fashion-MNIST: pixels / 255,
    as torchvision's ToTensor gives them): x = (raw - input_mean) / input_std."""
    x: np.ndarray
    y: np.ndarray
    input_mean: float = 0.0
    input_std: float = 1.0


def load_data(spec):
    """"fashion-mnist" (60,000 training images), "fashion-mnist:test" (10,000 test images)
    or "X.npy,y.npy", as a Dataset."""
    if not isinstance(spec, str):
        raise ValueError(f"a data set spec is text, not {type(spec).__name__}")
    if "," in spec:
        for p in spec.split(",", 1):
            _path("load_data", p)
    x, y, mean, std = _core.load_data(os.fsencode(spec))
    return Dataset(x, y, float(mean), float(std))


class TrainResult:
    """A training run's outcome: `weights`, a dict of numpy arrays named as PyTorch's
    nn.Sequential names them ("0.weight", "0.bias", "2.weight", ...), and `history`, a
    dict per epoch. `weights, history = net.train(...)` unpacks them. `metadata` is what
    save() writes beside them: the model, and how inputs must be standardized (when
    they must)."""

    def __init__(self, spec, weights, history, metadata, task_id=0):
        self.spec = spec
        self.weights = weights
        self.history = history
        self.metadata = metadata
        self.task_id = task_id

    @property
    def input_mean(self):
        return float(self.metadata.get("nexus.input_mean", 0.0))

    @property
    def input_std(self):
        return float(self.metadata.get("nexus.input_std", 1.0))

    def save(self, path):
        """Writes the weights as safetensors (safetensors.torch.load_file reads it)."""
        save_weights(path, self.weights, self.metadata, spec=self.spec)

    def __iter__(self):
        yield self.weights
        yield self.history

    def __repr__(self):
        last = self.history[-1] if self.history else {}
        return (f"TrainResult({self.spec}, {len(self.history)} epochs"
                + (f", test accuracy {last['test_accuracy']:.4f}"
                   if last.get("test_accuracy") is not None else "") + ")")


def _as_state_dict(name, weights):
    out = {}
    for k, v in weights.items():
        out[str(k)] = _float32(f"{name}[{k!r}]", v)
    return out


def load_weights(path):
    """A safetensors file (nexus-shell's, save_weights', or PyTorch's nn.Sequential of
    Linear and ReLU layers) as a TrainResult without history."""
    w = _core.read_weights(_path("load_weights", path))
    return TrainResult(w["spec"], dict(w["tensors"]), [], dict(w["metadata"]))


def save_weights(path, weights, metadata=None, spec=""):
    """Writes a state_dict of numpy arrays (or torch tensors) as safetensors, checked
    against the model they make."""
    path = os.fsdecode(os.fspath(path))
    if not path or os.path.isdir(path):
        raise IsADirectoryError(21, "save_weights: a file's path is needed", path)
    _core.write_weights(os.fsencode(path), spec, _as_state_dict("weights", weights),
                        {str(k): str(v) for k, v in (metadata or {}).items()})


# ---- tasks -----------------------------------------------------------------------------

class Task:
    """A submitted task. result() waits for its output (a progress bar where interactive;
    Ctrl-C cancels the task), status() reports on it, cancel() stops it, done() says
    whether it finished."""

    def __init__(self, net, ack, kind, convert=None, progress=None):
        self._net = net
        self.id = ack["task_id"]
        self.shards = ack["shards"]
        self.kind = kind
        self._convert = convert
        self._progress = progress
        self._report = None
        self._output = None
        self._lock = threading.Lock()

    def __repr__(self):
        state = self._report["state"] if self._report else "submitted"
        return f"<nexuschain.Task {self.id} {self.kind}, {self.shards} shards, {state}>"

    def status(self):
        """The task's report: state, shards validated and in flight, rejected results,
        the reason it failed, a training run's epochs..."""
        r = self._net._session().status(self.id)
        if r["finished"]:
            self._report = r
        return r

    def done(self):
        return self._report is not None or self.status()["finished"]

    def cancel(self):
        """Stops the task: no more of its shards run; what was validated stays paid.
        Returns its report (a task that already finished keeps its state)."""
        r = self._net._session().cancel(self.id)
        if r["finished"]:
            self._report = r
        return r

    def wait(self, timeout=None):
        """Waits until the task finishes and returns its report; TimeoutError after
        `timeout` seconds (the task goes on). Ctrl-C cancels it."""
        if self._report is not None:
            return self._report
        deadline = None if timeout is None else time.monotonic() + _number(
            "timeout", timeout, 0, float("inf"))
        training = self.kind.startswith("train")
        bar = _progress_bar(self._progress, self.shards, f"task {self.id} {self.kind}",
                            "step" if training else "shard")
        session = self._net._session()
        try:
            while True:
                slice_s = _SLICE_S if deadline is None else max(
                    0.0, min(_SLICE_S, deadline - time.monotonic()))
                r = session.wait(self.id, slice_s)
                if r is None:
                    r = session.status(self.id) if bar is not None else None
                if bar is not None and r is not None:
                    bar.total = r["shards"]
                    bar.n = r["shards_validated"]
                    if r["epochs"]:  # a training run's last finished epoch
                        e = r["epochs"][-1]
                        test = e["test_accuracy"]
                        bar.set_postfix_str(f"epoch {e['epoch']} loss {e['loss']:.4f}"
                                            + (f" test {test:.4f}" if test is not None else ""),
                                            refresh=False)
                    bar.refresh()
                if r is not None and r["finished"]:
                    self._report = r
                    return r
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f"task {self.id} did not finish within {timeout} s "
                                       "(it goes on; cancel() stops it)")
        except KeyboardInterrupt:
            try:
                self.cancel()
                print(f"nexuschain: task {self.id} cancelled", file=sys.stderr)
            except Exception as e:  # the network may be gone: still stop here
                print(f"nexuschain: task {self.id} not cancelled: {e}", file=sys.stderr)
            raise
        finally:
            if bar is not None:
                bar.close()

    def result(self, timeout=None):
        """The task's output, once it finished: what its kind gives (an array, a
        TrainResult). Raises what made it fail: TimeoutError past its time-out, NexusError
        otherwise."""
        with self._lock:
            if self._output is not None:
                return self._output
            r = self.wait(timeout)
            if r["state"] != "done":
                reason = r["reason"] or r["state"]
                what = f"task {self.id} {r['state']}: {reason}"
                if reason.startswith("timed out"):
                    raise TimeoutError(what)
                e = NexusError(what)
                e.code = "failed"
                raise e
            out = self._net._session().result(self.id)
            self._output = self._convert(out, r) if self._convert else out
            return self._output


# ---- the network -----------------------------------------------------------------------

def _finish(session, cleanup):
    session.close()
    if cleanup:
        cleanup()


class Ledger:
    """The network's ledger: balances, a node's history, and the audit. Amounts are in MCC
    (floats, exact to the micro-MCC below 9 * 10^9 MCC); history entries also carry
    micro_mcc as an integer."""

    def __init__(self, net):
        self._net = net

    def balance(self, node=None):
        """One account's balance in MCC (0 if it has none), or every account's as a dict."""
        b = self._net._session().balances("" if node is None else str(node))
        if node is None:
            return {k: v / 1e6 for k, v in b.items()}
        return b.get(str(node), 0) / 1e6

    def history(self, node):
        """Every contribution, verdict and payment of `node`, oldest first, as dicts."""
        out = self._net._session().history(str(node))
        for e in out:
            e["mcc"] = e["micro_mcc"] / 1e6
        return out

    def verify(self):
        """The ledger's audit: {"ok", "blocks", "transactions", "problem", "report"}."""
        return self._net._session().verify()


class Network:
    """A network this process submits to: an embedded one (local()) or a running one
    (connect()). Use it in a `with` block, or close() it; the interpreter closes what is
    left at exit."""

    def __init__(self, session, description, cleanup=None):
        self._s = session
        self.description = description
        self.ledger = Ledger(self)
        # Run by close(), or when the network is collected unclosed, or at exit.
        self._finalizer = weakref.finalize(self, _finish, session, cleanup)
        _open_networks.add(self)

    def __repr__(self):
        return f"<nexuschain.Network {self.description}{' (closed)' if self._s is None else ''}>"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stops an embedded network (waiting for its actors); detaches from a running one."""
        self._s = None
        self._finalizer()
        _open_networks.discard(self)

    def _session(self):
        if self._s is None:
            e = NexusError("this network was closed")
            e.code = "unavailable"
            raise e
        return self._s

    @property
    def account(self):
        """The account submissions are charged to."""
        return self._session().account()

    # -- work --

    def upload(self, a):
        """Puts an array in the network's blob store once; matmul and submit_matmul take
        the Blob in its place and nothing travels again."""
        x = _float32("the array", a)
        return Blob(self._session().upload(x), x.shape)

    def submit_matmul(self, a, b, *, progress=None, **options):
        """Submits A @ B (float32; see matmul) and returns its Task at once."""
        opts = _common({}, **options)
        if isinstance(a, Blob) != isinstance(b, Blob):
            a = a if isinstance(a, Blob) else self.upload(a)
            b = b if isinstance(b, Blob) else self.upload(b)
        if isinstance(a, Blob):
            sa, sb, xa, xb = a.shape, b.shape, a.id, b.id
        else:
            xa, xb = _float32("a", a), _float32("b", b)
            sa, sb = xa.shape, xb.shape
        if len(sa) != 2 or len(sb) != 2:
            raise ValueError(f"matmul multiplies matrices: a has shape {tuple(sa)}, b "
                             f"{tuple(sb)}")
        if sa[1] != sb[0]:
            raise ValueError(f"matmul: a is {sa[0]} x {sa[1]} but b is {sb[0]} x {sb[1]} "
                             f"(a's columns must equal b's rows)")
        ack = self._session().submit_matmul(xa, xb, opts)
        return Task(self, ack, "matmul", progress=progress)

    def matmul(self, a, b, *, progress=None, **options):
        """A @ B computed by the network's workers and checked by its validators, as a
        float32 numpy array. a and b: 2-D arrays (any numeric dtype, converted to float32;
        C-contiguous or not) or Blobs. Options, as nexus-shell's `submit matmul` flags:
        verify ("validators" or "replicate:K"), rounds, tolerance, shards, budget (MCC),
        priority, timeout (seconds: the task fails past it), attempts, label."""
        return self.submit_matmul(a, b, progress=progress, **options).result()

    def submit_train(self, model, data, *, test=None, epochs=10, batch=128, lr=1e-3,
                     optimizer="adam", schedule="constant", seed=1, local_steps=None,
                     micro_batch=None, sample_rate=None, progress=None, **options):
        """Starts a training run and returns its Task (result(): a TrainResult)."""
        spec = _core.model_text(_model_spec(model))
        train = _data("data", data)
        if test is None and isinstance(data, str) and data in ("fashion-mnist",
                                                                "fashion-mnist:train"):
            test = "fashion-mnist:test"
        tested = None if test is None else _data("test", test)
        opts = _common({}, **options)
        opts["epochs"] = _count("epochs", epochs, 1, 10_000)
        opts["batch"] = _count("batch", batch, 1, 65_536)
        opts["lr"] = _number("lr", lr, 1e-9, 10, hi_open=True)
        opts["optimizer"] = str(optimizer)
        opts["schedule"] = str(schedule)
        opts["seed"] = _count("seed", seed, 1, 2**64 - 1)
        if local_steps is not None:
            opts["local_steps"] = _count("local_steps", local_steps, 0, 100_000)
        if micro_batch is not None:
            opts["micro_batch"] = _count("micro_batch", micro_batch, 1, 65_536)
        if sample_rate is not None:
            opts["sample_rate"] = _number("sample_rate", sample_rate, 0, 1)
        def convert(flat, report):
            w = _core.unflatten(spec, flat, train[2], train[3])
            history = [dict(e) for e in report["epochs"]]
            return TrainResult(spec, dict(w["tensors"]), history, dict(w["metadata"]),
                               report["task_id"])

        ack = self._session().submit_train(spec, train, tested, opts)
        return Task(self, ack, "train " + spec, convert, progress)

    def train(self, model, data, **options):
        """Trains `model` ("mlp:784-256-128-10" or a YAML model file) on `data` ((X, y)
        arrays, a Dataset, or "fashion-mnist"; its test images are then the test set) and
        returns a TrainResult: `weights, history = net.train(...)`. Options: epochs,
        batch, lr, optimizer (adam, sgd), schedule (constant, cosine), seed,
        test ((X, y) or a spec), local_steps, micro_batch, sample_rate, and the options
        every submission takes (see matmul)."""
        return self.submit_train(model, data, **options).result()

    def submit_infer(self, weights, x, *, sample_rate=None, progress=None, **options):
        """Submits inference and returns its Task (result(): class probabilities)."""
        spec, flat = _flat_weights(weights)
        xs = _float32("x", x.x if isinstance(x, Dataset) else x, ndim=2)
        opts = _common({}, **options)
        if sample_rate is not None:
            opts["sample_rate"] = _number("sample_rate", sample_rate, 0, 1)
        ack = self._session().submit_infer(spec, flat, xs, opts)
        return Task(self, ack, "infer " + spec, progress=progress)

    def infer(self, weights, x, **options):
        """Class probabilities (N x classes, float32) of the model `weights` (a
        TrainResult, a state_dict of arrays or torch tensors, or a .safetensors path) for
        the samples `x` (N x features, standardized as the model expects: see
        TrainResult.input_mean). Options: sample_rate (share of rows validators
        recompute), and the options every submission takes (see matmul)."""
        return self.submit_infer(weights, x, **options).result()

    # -- the network --

    def nodes(self):
        """Every node the hub knows: name, role, device, threads, gflops, state, shards
        done and rejected, whether it is a browser."""
        return self._session().nodes()

    def status(self, task_id):
        """The report of any task by its id."""
        return self._session().status(_count("task_id", task_id, 1, 2**64 - 1))


def _model_spec(model):
    if isinstance(model, os.PathLike) or (isinstance(model, str) and not model.startswith("mlp:")):
        return _path("model", model)
    if not isinstance(model, str):
        raise ValueError(f"model is a spec such as 'mlp:784-256-128-10' or a YAML file, not "
                         f"{model!r}")
    return model


def _data(name, data):
    """(x, y, input_mean, input_std) from a spec, a Dataset or an (X, y) pair."""
    if isinstance(data, (str, os.PathLike)):
        data = load_data(os.fspath(data))
    if isinstance(data, Dataset):
        x = _float32(f"{name} samples", data.x, ndim=2)
        mean = _number(f"{name} input_mean", data.input_mean, -1e6, 1e6)
        std = _number(f"{name} input_std", data.input_std, 0, 1e6, lo_open=True)
        return x, _labels(f"{name} labels", data.y, x.shape[0]), mean, std
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(f"{name} is (X, y) arrays, a Dataset or a data set spec such as "
                         f"'fashion-mnist', not {type(data).__name__}")
    x = _float32(f"{name} samples", data[0], ndim=2)
    return x, _labels(f"{name} labels", data[1], x.shape[0]), 0.0, 1.0


def _flat_weights(weights):
    if isinstance(weights, (str, os.PathLike)):
        weights = load_weights(weights)
    if isinstance(weights, TrainResult):
        spec, tensors = weights.spec, weights.weights
    elif isinstance(weights, dict):
        spec, tensors = "", weights
    else:
        raise ValueError("weights are a TrainResult, a state_dict or a .safetensors path, not "
                         f"{type(weights).__name__}")
    spec, flat = _core.flatten(spec, _as_state_dict("weights", tensors))
    return spec, flat


def _account(session, account, data_dir):
    name = account or getpass.getuser() or "python"
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}", name):
        raise ValueError(f"account must be a name of letters, digits, '_', '.', '@' and '-' "
                         f"(up to 64, not starting with '.' or '-'), not {name!r}")
    session.sign_as(name, os.fsencode(os.path.join(os.fsdecode(data_dir), "users", name)))


def _default_data():
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                           "share")
    return os.path.join(base, "nexuschain")


def local(workers=4, validators=2, *, faulty_workers=0, fault="corrupt", lying_validators=0,
          lie_rate=1.0, device="auto", data=None, ledgers=1, account=None, timeout=30):
    """Starts a whole network inside this process: a hub, `workers` workers (the last
    `faulty_workers` of them misbehaving as `fault` says: corrupt, late, crash, garbage,
    device-lost, device-full, each with an optional rate, as "corrupt:0.3,garbage"),
    `validators` validators (`lying_validators` of them turning `lie_rate` of their
    verdicts around), `ledgers` ledger nodes, and a ledger in `data` (a directory; by
    default a temporary one, removed at close()). Submissions are signed as `account`
    (default: the user's name) with its key in DATA/users/NAME. `device`: auto, cpu,
    opencl, opencl:N, or a list such as "opencl:0,cpu"."""
    opts = {
        "workers": _count("workers", workers, 1, 1024),
        "validators": _count("validators", validators, 1, 1024),
        "faulty_workers": _count("faulty_workers", faulty_workers, 0, 1024),
        "fault": str(fault),
        "lying_validators": _count("lying_validators", lying_validators, 0, 1024),
        "lie_rate": _number("lie_rate", lie_rate, 0, 1, lo_open=True),
        "device": str(device),
        "ledgers": _count("ledgers", ledgers, 1, 64),
        "timeout_ms": int(_number("timeout", timeout, 1, 86400) * 1000),
    }
    if faulty_workers > workers:
        raise ValueError(f"faulty_workers ({faulty_workers}) cannot exceed workers ({workers})")
    if lying_validators > validators:
        raise ValueError(f"lying_validators ({lying_validators}) cannot exceed validators "
                         f"({validators})")
    cleanup = None
    if data is None:
        data = tempfile.mkdtemp(prefix="nexuschain-")
        cleanup = lambda d=data: shutil.rmtree(d, ignore_errors=True)
    opts["data"] = _directory("data", data)
    try:
        session = _core.Session.local(opts)
        _account(session, account, opts["data"])
    except BaseException:
        if cleanup:
            cleanup()
        raise
    return Network(session, f"embedded, {workers} workers ({faulty_workers} faulty), "
                            f"{validators} validators", cleanup)


def connect(where, *, tls=None, account=None, data=None, timeout=30):
    """Attaches to a running network: `where` is its topology file (the client moves to
    another hub when its own is lost), or "HOST:PORT" of one node (plain TCP, or with
    tls=TOPOLOGY over that topology's TLS with its client certificate). Submissions are
    signed as `account` (default: the user's name) with its key in DATA/users/NAME
    (DATA: $XDG_DATA_HOME/nexuschain, as nexus-shell's)."""
    where = os.fspath(where)
    timeout_ms = int(_number("timeout", timeout, 1, 86400) * 1000)
    if tls is not None:
        tls = _path("tls", tls)
    if re.fullmatch(r"[^/\s]+:\d{1,5}", where) and not os.path.exists(where):
        session = _core.Session.connect(tls or "", where, timeout_ms)
        description = where
    else:
        if tls is not None:
            raise ValueError("tls= goes with a HOST:PORT; a topology names its own TLS")
        session = _core.Session.connect(_path("topology", where), "", timeout_ms)
        description = f"topology {where}"
    try:
        _account(session, account, _directory("data", data) if data is not None
                 else _default_data())
    except BaseException:
        session.close()
        raise
    return Network(session, description)
