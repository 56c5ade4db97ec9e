"""The Python package `nexuschain` (apps/python/) against real networks: an embedded one
in this process (honest, and with a faulty worker), and one of separate `nexus-node`
processes over mutual TLS. Results are compared with numpy; bad input must raise the
documented exception and leave the interpreter and the network usable."""
import gzip
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import nexuschain as nx

NODE = os.environ.get("NEXUS_NODE")


@pytest.fixture(scope="module")
def net():
    with nx.local(workers=3, validators=1, account="pytest") as n:
        yield n


def reference(a, b):
    return np.asarray(a, dtype=np.float32) @ np.asarray(b, dtype=np.float32)


def close(c, expected):
    scale = max(1.0, float(np.abs(expected).max()))
    return float(np.abs(c - expected).max()) / scale < 1e-5


def test_matmul_on_odd_shapes_and_strided_input(net):
    rng = np.random.default_rng(1)
    a = np.asfortranarray(rng.standard_normal((97, 61)))  # float64, column-major
    b = rng.standard_normal((33, 122)).T[::2]  # a strided view, 61 x 33
    assert not b.flags.c_contiguous and not a.flags.c_contiguous
    c = net.matmul(a, b, shards=5)
    assert c.dtype == np.float32 and c.shape == (97, 33)
    assert close(c, reference(a, b))
    ints = np.arange(12, dtype=np.int64).reshape(3, 4)
    assert close(net.matmul(ints, ints.T), reference(ints, ints.T))
    one = net.matmul(np.full((1, 1), 3.0), np.full((1, 1), 4.0))
    assert one.shape == (1, 1) and one[0, 0] == 12.0


def test_uploaded_operands_travel_once(net):
    rng = np.random.default_rng(2)
    a, b = rng.random((64, 48), dtype=np.float32), rng.random((48, 40), dtype=np.float32)
    ba, bb = net.upload(a), net.upload(b)
    assert ba.shape == (64, 48) and len(ba.id) == 64
    assert close(net.matmul(ba, bb), reference(a, b))
    assert close(net.matmul(ba, b), reference(a, b))  # a Blob beside an array


def test_several_tasks_at_once_and_from_threads(net):
    rng = np.random.default_rng(3)
    pairs = [(rng.random((50 + i, 40)), rng.random((40, 30 + i))) for i in range(4)]
    tasks = [net.submit_matmul(a, b, shards=3) for a, b in pairs]
    assert len({t.id for t in tasks}) == 4
    for t, (a, b) in zip(reversed(tasks), reversed(pairs)):
        assert close(t.result(), reference(a, b))
        assert t.done() and t.status()["state"] == "done"
    results, errors = {}, []

    def work(i):
        try:
            a, b = pairs[i]
            results[i] = close(net.matmul(a, b), reference(a, b))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and results == {0: True, 1: True, 2: True, 3: True}


def test_bad_input_raises_the_documented_exceptions(net):
    a = np.ones((4, 3))
    with pytest.raises(ValueError, match="a's columns must equal b's rows"):
        net.matmul(a, a)
    with pytest.raises(ValueError, match="dtype complex128"):
        net.matmul(a.astype(complex), a.T)
    with pytest.raises(ValueError, match="dtype <U1|dtype object|dtype <U"):
        net.matmul(np.array([["x"]]), np.array([["y"]]))
    with pytest.raises(ValueError, match="multiplies matrices"):
        net.matmul(np.ones((2, 2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="empty"):
        net.matmul(np.ones((0, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="verify takes"):
        net.matmul(a, a.T, verify="trust-me")
    with pytest.raises(ValueError, match="shards must be"):
        net.matmul(a, a.T, shards=-1)
    with pytest.raises(ValueError, match="budget must be above 0"):
        net.matmul(a, a.T, budget=0)
    # Operands no one can check (they would cost honest workers penalties).
    with pytest.raises(ValueError, match="holds NaN .*operands must be finite"):
        net.matmul(np.full((4, 3), np.nan), a.T)
    with pytest.raises(ValueError, match="holds an infinity"):
        net.matmul(np.full((4, 3), 1e300), a.T)  # beyond float32
    with pytest.raises(IsADirectoryError):
        nx.load_weights(os.path.dirname(__file__))
    with pytest.raises(ValueError, match="account must be"):
        nx.local(workers=1, validators=1, account="../elsewhere")
    with pytest.raises(ValueError, match="model|mlp"):
        net.train("mlp:4-", (a, [0, 1, 0, 1]))
    with pytest.raises(ValueError, match="one label per sample"):
        net.train("mlp:3-4-2", (a, [0, 1]))
    with pytest.raises(FileNotFoundError):
        net.infer("/nonexistent/model.safetensors", a)
    with pytest.raises(FileNotFoundError):
        nx.connect("/nonexistent/topology.yaml")
    with pytest.raises(ValueError):
        nx.local(workers=0)
    with pytest.raises(nx.NexusError) as e:
        net.status(123456789)
    assert e.value.code == "not_found" and "no task 123456789" in str(e.value)
    # The network is still there and right.
    assert close(net.matmul(a, a.T), reference(a, a.T))


def test_python_threads_run_while_the_network_works(net):
    """The GIL is released while a call waits on the network: the main thread keeps
    running Python while another thread waits for products. Were it held through each
    0.2 s wait, nearly all of the main thread's time would be spent in stalls of 0.1 s
    and more; here such stalls are rare (busy machines preempt threads too)."""
    tasks = [net.submit_matmul(np.ones((2000, 2000)), np.ones((2000, 2000)), shards=80)
             for _ in range(3)]
    waiter = threading.Thread(target=lambda: [t.result() for t in tasks])
    waiter.start()
    stalled, last = 0.0, time.perf_counter()
    start = last
    while waiter.is_alive():
        now = time.perf_counter()
        if now - last >= 0.1:
            stalled += now - last
        last = now
    waiter.join()
    took = time.perf_counter() - start
    assert all(t.done() for t in tasks)
    assert stalled < 0.3 * took, f"stalled {stalled:.2f} s of {took:.2f} s"


def test_a_task_past_its_wait_raises_timeout_and_goes_on(net):
    t = net.submit_matmul(np.ones((1500, 1500)), np.ones((1500, 1500)), shards=60)
    with pytest.raises(TimeoutError, match="did not finish within"):
        t.wait(timeout=0.001)
    c = t.result(timeout=300)
    assert c.shape == (1500, 1500) and np.all(c == 1500.0)


def test_ctrl_c_cancels_the_task_and_leaves_the_network_usable(net):
    t = net.submit_matmul(np.ones((3000, 2000)), np.ones((2000, 3000)), shards=120)
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        t.result()
    timer.join()
    report = t.status()
    assert report["state"] == "cancelled"
    assert report["reason"] == "cancelled by its submitter"
    assert report["shards_validated"] < report["shards"]
    with pytest.raises(nx.NexusError, match="cancelled"):
        t.result()
    assert close(net.matmul(np.eye(3), np.ones((3, 2))), np.ones((3, 2), np.float32))


def test_a_network_closes_while_other_threads_that_used_it_live():
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(2) as pool:
        net = nx.local(workers=2, validators=1, account="pytest")
        assert pool.submit(net.matmul, np.ones((4, 4)), np.ones((4, 4))).result().shape == (4, 4)
        closer = threading.Thread(target=net.close)  # from yet another thread
        closer.start()
        closer.join(30)
        assert not closer.is_alive()
    with pytest.raises(nx.NexusError, match="closed"):
        net.matmul(np.ones((2, 2)), np.ones((2, 2)))


def test_nodes_and_ledger_are_plain_values(net):
    net.matmul(np.ones((30, 20)), np.ones((20, 10)))
    nodes = net.nodes()
    workers = [n for n in nodes if n["role"] == "worker"]
    assert len(workers) == 3 and all(n["state"] == "alive" for n in workers)
    assert sum(n["shards_done"] for n in workers) > 0
    balances = net.ledger.balance()
    assert isinstance(balances, dict) and balances["pytest"] < 0  # charged for its work
    assert abs(sum(balances.values())) < 1e-9  # payments and charges add up
    assert net.ledger.balance("nobody") == 0
    # A worker's history adds up to its balance (asked again until no block came between).
    name = workers[0]["name"]
    for _ in range(50):
        earned = net.ledger.balance(name)
        history = net.ledger.history(name)
        if net.ledger.balance(name) == earned:
            break
        time.sleep(0.1)
    assert history and {"contribution", "reward"} <= {e["kind"] for e in history}
    mine = [e for e in history if e["account"] == name]  # not its validators' rewards
    paid = sum(e["micro_mcc"] for e in mine if e["kind"] == "reward") - sum(
        e["micro_mcc"] for e in mine if e["kind"] == "penalty")
    assert paid == round(earned * 1e6)
    audit = net.ledger.verify()
    assert audit["ok"] and audit["blocks"] >= 1 and "ledger OK" in audit["report"]


def test_a_faulty_worker_is_caught():
    with nx.local(workers=3, validators=1, faulty_workers=1, fault="corrupt",
                  account="pytest") as net:
        rng = np.random.default_rng(4)
        a, b = rng.random((240, 100)), rng.random((100, 80))
        t = net.submit_matmul(a, b, shards=12)
        assert close(t.result(timeout=300), reference(a, b))
        assert t.status()["results_rejected"] >= 1
        faulty = [n for n in net.nodes() if n["name"].startswith("faulty-worker")]
        assert len(faulty) == 1 and faulty[0]["shards_rejected"] >= 1
        assert any(e["kind"] == "penalty" for e in net.ledger.history(faulty[0]["name"]))
        assert net.ledger.verify()["ok"]


def blobs(n=300, seed=5):
    """Two Gaussian classes in 8 dimensions, linearly separable with a margin."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.standard_normal((n, 8)).astype(np.float32) + (y[:, None] * 3.0).astype(np.float32)
    return x, y


def forward(weights, x):
    h = x
    layers = sorted({int(k.split(".")[0]) for k in weights})
    for i, k in enumerate(layers):
        h = h @ weights[f"{k}.weight"].T + weights[f"{k}.bias"]
        if i + 1 < len(layers):
            h = np.maximum(h, 0)
    e = np.exp(h - h.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_train_and_infer_on_a_small_data_set(net, tmp_path):
    x, y = blobs()
    result = net.train("mlp:8-16-2", (x, y), epochs=3, batch=32, lr=0.01, test=blobs(100, 6))
    weights, history = result
    assert sorted(weights) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert weights["0.weight"].shape == (16, 8) and weights["0.bias"].shape == (16,)
    assert weights["2.weight"].shape == (2, 16) and weights["2.bias"].shape == (2,)
    assert [e["epoch"] for e in history] == [1, 2, 3]
    assert history[-1]["test_accuracy"] > 0.9
    probs = net.infer(result, x)
    assert probs.shape == (300, 2) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert np.allclose(probs, forward(weights, x), atol=1e-5)
    assert (probs.argmax(axis=1) == y).mean() > 0.9
    # The same weights through a file, and as a plain state_dict.
    path = tmp_path / "model.safetensors"
    result.save(path)
    loaded = nx.load_weights(path)
    assert loaded.spec == "mlp:8-16-2"
    assert all(np.array_equal(loaded.weights[k], weights[k]) for k in weights)
    assert np.allclose(net.infer(path, x), probs, atol=1e-6)
    assert np.allclose(net.infer(dict(weights), x), probs, atol=1e-6)
    with pytest.raises(ValueError, match="features|takes"):
        net.infer(result, np.ones((3, 5)))


def test_a_model_from_a_yaml_file(net, tmp_path):
    model = tmp_path / "model.yaml"
    model.write_text("model: mlp\ninputs: 8\nlayers:\n  - {units: 12, activation: relu}\n"
                     "  - {units: 2}\n")
    result = net.train(model, blobs(), epochs=2, batch=32, lr=0.01)
    assert result.spec == "mlp:8-12-2" and result.weights["0.weight"].shape == (12, 8)
    with pytest.raises(FileNotFoundError):
        net.train(tmp_path / "missing.yaml", blobs())


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_attaching_to_a_network_of_processes(tmp_path):
    if not NODE:
        pytest.skip("NEXUS_NODE names nexus-node (meson test sets it)")
    hub, w1, v1 = free_ports(3)
    topology = tmp_path / "net.yaml"
    topology.write_text(f"""network: pytest
tls:
  ca: certs/ca.pem
  ca_key: certs/ca.key
  client: {{cert: certs/client.pem, key: certs/client.key}}
nodes:
  - {{name: hub, host: 127.0.0.1, port: {hub}, roles: [orchestrator, aggregator, ledger],
     data: data/hub, tls: {{cert: certs/hub.pem, key: certs/hub.key}}, key: keys/hub.pub}}
  - {{name: w1, host: 127.0.0.1, port: {w1}, roles: [worker], resources: {{threads: 1}},
     data: data/w1, tls: {{cert: certs/w1.pem, key: certs/w1.key}}, key: keys/w1.pub}}
  - {{name: v1, host: 127.0.0.1, port: {v1}, roles: [validator],
     data: data/v1, tls: {{cert: certs/v1.pem, key: certs/v1.key}}, key: keys/v1.pub}}
""")
    made = subprocess.run([NODE, "certs", str(topology)], capture_output=True, text=True,
                          timeout=60)
    assert made.returncode == 0, made.stdout + made.stderr
    log = open(tmp_path / "up.log", "w")
    up = subprocess.Popen([NODE, "up", str(topology)], stdout=log, stderr=subprocess.STDOUT)
    try:
        with nx.connect(topology, account="pytest", data=tmp_path / "me") as net:
            deadline = time.monotonic() + 30
            while not {"w1", "v1"} <= {n["name"] for n in net.nodes() if n["state"] == "alive"}:
                assert time.monotonic() < deadline, open(tmp_path / "up.log").read()
                time.sleep(0.2)
            rng = np.random.default_rng(7)
            a, b = rng.random((130, 70)), rng.random((70, 90))
            assert close(net.matmul(a, b, shards=4), reference(a, b))
            assert net.ledger.verify()["ok"]
        # One node by its address, over the topology's TLS...
        with nx.connect(f"127.0.0.1:{hub}", tls=topology, account="pytest",
                        data=tmp_path / "me") as net:
            assert close(net.matmul(a, b), reference(a, b))
        # ...and refused without it.
        with pytest.raises(nx.NexusError):
            nx.connect(f"127.0.0.1:{hub}", timeout=3)
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(30)
        log.close()


def torchvision_test_images():
    """Fashion-MNIST's test images as torchvision's ToTensor gives them (pixel / 255),
    read from Debian's files here, apart from NexusChain's reader."""
    directory = os.environ.get("NEXUS_FASHION_MNIST") or "/usr/share/datasets/fashion-mnist"
    path = os.path.join(directory, "t10k-images-idx3-ubyte.gz")
    if not os.path.exists(path):
        pytest.skip(f"{path} is not there (Debian's dataset-fashion-mnist)")
    with gzip.open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051
        pixels = np.frombuffer(f.read(n * rows * cols), dtype=np.uint8)
    return pixels.reshape(n, rows * cols).astype(np.float32) / 255.0


def torch_probabilities(torch, weights, metadata, images):
    """The docs' recipe (docs/python.md): the state_dict into nn.Sequential, the inputs
    standardized as the metadata says."""
    layers = sorted({int(k.split(".")[0]) for k in weights})
    modules = []
    for i, k in enumerate(layers):
        out_features, in_features = weights[f"{k}.weight"].shape
        modules.append(torch.nn.Linear(in_features, out_features))
        if i + 1 < len(layers):
            modules.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*modules)
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in weights.items()})
    mean = float(metadata.get("nexus.input_mean", 0))
    std = float(metadata.get("nexus.input_std", 1))
    with torch.no_grad():
        x = (torch.from_numpy(images) - mean) / std
        return torch.softmax(model(x), dim=1).numpy()


def same_predictions(ours, theirs):
    assert ours.shape == theirs.shape
    assert (ours.argmax(axis=1) == theirs.argmax(axis=1)).mean() >= 0.999
    assert np.abs(ours - theirs).max() < 1e-4


def test_pytorch_reproduces_the_predictions_of_weights_trained_here(net):
    torch = pytest.importorskip("torch", reason="python3-torch is not installed")
    images = torchvision_test_images()
    train = nx.load_data("fashion-mnist")
    subset = nx.Dataset(train.x[:6000], train.y[:6000], train.input_mean, train.input_std)
    result = net.train("mlp:784-64-10", subset, epochs=1, lr=0.002)
    assert result.metadata["nexus.input_mean"] == "0.286"
    assert result.metadata["nexus.input_std"] == "0.353"
    test = nx.load_data("fashion-mnist:test")
    ours = net.infer(result, test.x)
    assert (ours.argmax(axis=1) == test.y).mean() > 0.7
    same_predictions(ours, torch_probabilities(torch, result.weights, result.metadata, images))


def test_pytorch_reproduces_the_predictions_of_nexus_shells_files(tmp_path):
    torch = pytest.importorskip("torch", reason="python3-torch is not installed")
    shell = os.environ.get("NEXUS_SHELL")
    if not shell:
        pytest.skip("NEXUS_SHELL names nexus-shell (meson test sets it)")
    images = torchvision_test_images()
    model, preds = tmp_path / "m.safetensors", tmp_path / "p.npy"
    run = subprocess.run(
        [shell, "--data", str(tmp_path / "data"), "--workers", "2", "--validators", "1", "-c",
         f"submit train --model mlp:784-32-10 --data fashion-mnist --epochs 1 --out {model}",
         "-c", f"submit infer --model {model} --data fashion-mnist:test --out {preds}"],
        capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    saved = nx.load_weights(model)
    assert saved.metadata["nexus.input_std"] == "0.353"
    same_predictions(np.load(preds), torch_probabilities(torch, saved.weights, saved.metadata,
                                                         images))


def test_the_docs_session(tmp_path):
    """docs/python.md's Python blocks, in order, as one session in a fresh interpreter."""
    pytest.importorskip("torch", reason="python3-torch is not installed")
    root = os.environ.get("NEXUS_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..",
                                                            ".."))
    with open(os.path.join(root, "docs", "python.md"), encoding="utf-8") as f:
        blocks = re.findall(r"^```python\n(.*?)^```", f.read(), re.S | re.M)
    assert len(blocks) >= 3
    script = tmp_path / "session.py"
    script.write_text("\n".join(blocks))
    env = dict(os.environ, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=600, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert "['0.bias', '0.weight', '2.bias', '2.weight']" in lines
    assert "1.0" in lines  # PyTorch's predictions are the network's
    assert any(line.startswith("ledger OK") for line in lines)
