"""Time one training epoch of the engine on the MLP and the small CNN of the spec.

    python benchmarks/bench_engine.py [--repeats 3]

MLP: 784-256-128-10, 20,000 samples, batch 128, Adam.
CNN: conv3x3(1->8) relu maxpool2 conv3x3(8->16) relu maxpool2 flatten linear(784->10),
28x28 inputs, batch 64, Adam (20,000 samples).
Prints seconds per epoch for float64 and float32, and PyTorch CPU when it is installed.
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import machine, median_time, mnist_like, torch_dtype, torch_or_none

from sknn_scratch.nn import Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, SoftmaxCrossEntropyCriterion
from sknn_scratch.optim import Adam

N = 20_000


def mlp(dtype):
    rng = np.random.default_rng(0)
    return Sequential(
        Linear(784, 256, init="glorot_uniform", rng=rng, dtype=dtype),
        ReLU(),
        Linear(256, 128, init="glorot_uniform", rng=rng, dtype=dtype),
        ReLU(),
        Linear(128, 10, init="glorot_uniform", rng=rng, dtype=dtype),
    )


def cnn(dtype):
    rng = np.random.default_rng(0)
    return Sequential(
        Conv2d(1, 8, 3, init="glorot_uniform", rng=rng, dtype=dtype),
        ReLU(),
        MaxPool2d(2),
        Conv2d(8, 16, 3, init="glorot_uniform", rng=rng, dtype=dtype),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(784, 10, init="glorot_uniform", rng=rng, dtype=dtype),
    )


def engine_epoch(net, X, y, batch):
    """The notebook's loop with the engine's flat parameters and a bound optimizer; the
    gradient with respect to the input batch is not needed, as in PyTorch."""
    head = SoftmaxCrossEntropyCriterion()
    params, grads = net.flatten_parameters()
    opt = Adam(params, grads, learning_rate=1e-3)

    def run():
        for start in range(0, len(X), batch):
            xb, yb = X[start : start + batch], y[start : start + batch]
            grads.fill(0)
            scores = net.forward(xb)
            _, g = head.loss_and_grad(scores, yb)
            net.backward(xb, g, input_grad=False)
            opt.step()

    return run


def torch_network(torch, kind, dtype):
    """A new PyTorch model: ``"mlp"`` 784-256-128-10, ``"cnn"`` the small CNN above,
    ``"keras"`` the Keras MNIST CNN (conv 1->32, conv 32->64, pool, linear 12544->128,
    linear 128->10)."""
    tnn = torch.nn
    if kind == "mlp":
        layers = [tnn.Linear(784, 256), tnn.ReLU(), tnn.Linear(256, 128), tnn.ReLU(), tnn.Linear(128, 10)]
    elif kind == "cnn":
        layers = [tnn.Conv2d(1, 8, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(8, 16, 3, padding=1)]
        layers += [tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(784, 10)]
    else:
        layers = [tnn.Conv2d(1, 32, 3, padding=1), tnn.ReLU(), tnn.Conv2d(32, 64, 3, padding=1), tnn.ReLU()]
        layers += [tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(64 * 14 * 14, 128), tnn.ReLU(), tnn.Linear(128, 10)]
    return tnn.Sequential(*layers).to(torch_dtype(torch, dtype))


def torch_dataloader_epoch(torch, kind, X, y, batch, dtype):
    """The idiomatic PyTorch loop: TensorDataset + DataLoader(shuffle=True) + Adam."""
    return torch_epoch(torch, kind, X, y, batch, dtype, shuffle=False, loader=True)


def torch_epoch(torch, kind, X, y, batch, dtype, shuffle=True, loader=False, fresh=True, epochs=1):
    """One epoch of the same network in PyTorch: a shuffled copy of the data per epoch
    (as ``fit`` does), then Adam over mini-batches.

    With ``fresh`` (the default) every call builds a new model and optimizer, so that
    each timed run is a first epoch from a new initialisation, like ``fit(max_iter=1)``.
    Without it the calls continue training one model: later epochs of PyTorch slow
    down (subnormal numbers appear in its float32 training; ``torch.set_flush_denormal``
    removes the slowdown), which would flatter the ratios. ``epochs`` trains that many
    epochs per call (a new model's whole training, like ``fit(max_iter=epochs)``).
    Returns that function; each call returns the model it trained."""
    tnn = torch.nn

    def build():
        model = torch_network(torch, kind, dtype)
        return model, torch.optim.Adam(model.parameters(), lr=1e-3)

    state = {"model": build()}
    loss_fn = tnn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)
    data = None
    if loader:
        data = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(Xt, yt), batch_size=batch, shuffle=True, generator=generator
        )

    def batches():
        if data is not None:
            yield from data
            return
        Xe, ye = Xt, yt
        if shuffle:
            order = torch.randperm(len(Xt), generator=generator)
            Xe, ye = Xt[order], yt[order]
        for start in range(0, len(Xe), batch):
            yield Xe[start : start + batch], ye[start : start + batch]

    def run():
        model, opt = build() if fresh else state["model"]
        for _ in range(epochs):
            for xb, yb in batches():
                opt.zero_grad()
                loss_fn(model(xb), yb).backward()
                opt.step()
        return model

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch = torch_or_none()
    print(f"machine: {machine()}" + (f", torch {torch.__version__}" if torch else ", torch not installed"))
    print(f"{'workload':<28}{'engine s/epoch':>16}{'torch s/epoch':>16}{'ratio':>8}")
    for kind, batch in (("mlp", 128), ("cnn", 64)):
        for dtype in (np.float64, np.float32):
            X, y = mnist_like(N, dtype, image=(kind == "cnn"))
            net = mlp(dtype) if kind == "mlp" else cnn(dtype)
            ours = median_time(engine_epoch(net, X, y, batch), repeats=args.repeats)
            theirs = (
                median_time(torch_epoch(torch, kind, X, y, batch, dtype, shuffle=False), repeats=args.repeats)
                if torch
                else None
            )
            name = f"{kind} {np.dtype(dtype).name} batch {batch}"
            ratio = f"{ours / theirs:8.2f}" if theirs else f"{'-':>8}"
            tcol = f"{theirs:16.3f}" if theirs else f"{'-':>16}"
            print(f"{name:<28}{ours:16.3f}{tcol}{ratio}", flush=True)


if __name__ == "__main__":
    main()
