"""NexusChain from Python: submit work to a decentralized compute network and get
verified results back as numpy arrays.

    import numpy as np
    import nexuschain as nx

    with nx.local(workers=4, validators=2) as net:    # a whole network in this process
        c = net.matmul(np.random.rand(512, 256), np.random.rand(256, 128))
        model = net.train("mlp:784-128-10", "fashion-mnist", epochs=2)
        probs = net.infer(model, nx.load_data("fashion-mnist:test").x)
        print(net.ledger.verify())

`nx.connect("config/local.yaml")` attaches to a running network instead. docs/python.md
walks through a session, from import to a trained model loaded in PyTorch.

Errors raise ValueError (shapes, dtypes, options), FileNotFoundError (a path that is not
there), TimeoutError (a task or the network took too long) or NexusError (anything else
the network reports), each with the text nexus-shell prints."""

from ._network import (Blob, Dataset, Ledger, Network, NexusError, Task, TrainResult,
                       connect, load_data, load_weights, local, save_weights)

__all__ = ["Blob", "Dataset", "Ledger", "Network", "NexusError", "Task", "TrainResult",
           "connect", "load_data", "load_weights", "local", "save_weights"]
