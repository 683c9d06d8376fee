"""Convolutional networks against PyTorch CPU: training epochs, prediction on 10,000
rows, and the GFLOP/s of every layer's passes.

    python benchmarks/bench_cnn.py [--repeats 5] [--networks keras small] [--dtypes float32 float64]

Networks (28x28 rows, Adam, one epoch of a new model as ``fit(max_iter=1)`` trains):

* ``keras``, the classic Keras MNIST CNN: conv3x3(1->32) relu conv3x3(32->64) relu
  maxpool2 flatten linear(12544->128) relu linear(128->10); 2,048 rows, batch 128.
* ``small``: conv3x3(1->8) relu maxpool2 conv3x3(8->16) relu maxpool2 flatten
  linear(784->10); 20,000 rows, batch 64.

Our epochs and PyTorch's alternate, and each pair gives a ratio: the machine's speed
can drift by a factor of two within a minute (a shared VM), and a pair measured side
by side is what compares. The table shows the median ratio and its range.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from _common import alternate, machine, mnist_like, torch_dtype, torch_or_none
from bench_engine import torch_epoch, torch_network
from bench_estimators import CNN_LAYERS
from sklearn.exceptions import ConvergenceWarning

from sknn_scratch import NumpyNetClassifier
from sknn_scratch.nn import Conv2d, Linear

warnings.simplefilter("ignore", ConvergenceWarning)

NETWORKS = {  # the layers, rows of the epoch, batch size, and PyTorch's name for the network
    "keras": {
        "layers": [
            ("conv2d", {"out_channels": 32, "kernel_size": 3}),
            "relu",
            ("conv2d", {"out_channels": 64, "kernel_size": 3}),
            "relu",
            ("maxpool2d", {"kernel_size": 2}),
            ("linear", {"n_out": 128}),
            "relu",
        ],
        "rows": 2048,
        "batch": 128,
        "torch": "keras",
    },
    "small": {"layers": CNN_LAYERS, "rows": 20_000, "batch": 64, "torch": "cnn"},
}
PREDICT_ROWS = 10_000


def estimator(network, max_iter=1):
    spec = NETWORKS[network]
    return NumpyNetClassifier(
        layers=spec["layers"], input_shape=(1, 28, 28), batch_size=spec["batch"], max_iter=max_iter, random_state=0
    )


def torch_model(torch, network, dtype):
    return torch_network(torch, NETWORKS[network]["torch"], dtype)


def report(label, times, ours="ours"):
    """Print our median time and, for every other entry, its median and our paired ratio."""
    mine = times[ours]
    cells = [f"ours {np.median(mine):7.3f} s"]
    for name, theirs in times.items():
        if name == ours:
            continue
        ratio = mine / theirs
        cells.append(
            f"{name} {np.median(theirs):7.3f} s, ratio {np.median(ratio):5.2f}x ({ratio.min():.2f}-{ratio.max():.2f})"
        )
    print(f"{label:<34}" + "; ".join(cells), flush=True)


def bench_epoch(torch, network, dtype, repeats):
    X, y = mnist_like(NETWORKS[network]["rows"], dtype)
    y = y.astype(np.int64)
    named = {"ours": lambda: estimator(network).fit(X, y)}
    if torch is not None:
        spec = NETWORKS[network]
        named["torch"] = torch_epoch(torch, spec["torch"], X.reshape(-1, 1, 28, 28), y, spec["batch"], dtype)
    report(f"{network} epoch {np.dtype(dtype).name}", alternate(named, repeats))


def bench_predict(torch, network, dtype, repeats):
    X, y = mnist_like(512, dtype)
    fitted = estimator(network).fit(X, y.astype(np.int64))
    many = mnist_like(PREDICT_ROWS, dtype, seed=1)[0]
    named = {"ours": lambda: fitted.predict(many)}
    if torch is not None:
        model = torch_model(torch, network, dtype).eval()
        Xt = torch.from_numpy(many.reshape(-1, 1, 28, 28))
        batch = NETWORKS[network]["batch"]

        def one_call():
            with torch.no_grad():
                return model(Xt).argmax(1)

        def batches():
            with torch.no_grad():
                return torch.cat([model(Xt[s : s + batch]).argmax(1) for s in range(0, len(Xt), batch)])

        named["torch no_grad"] = one_call
        named[f"torch no_grad by {batch}"] = batches
    report(f"{network} predict {PREDICT_ROWS:,} {np.dtype(dtype).name}", alternate(named, repeats))


def flops(module, x_shape, out_shape):
    """Multiply-adds x 2 of one forward pass (the same for each backward product)."""
    if isinstance(module, Conv2d):
        n, _, ho, wo = out_shape
        return 2 * n * ho * wo * module.out_channels * module.in_channels * module.kernel_size**2
    if isinstance(module, Linear):
        return 2 * x_shape[0] * module.n_in * module.n_out
    return 0


def torch_layer(torch, module, dtype):
    """The PyTorch layer equal to ``module`` (a Conv2d or a Linear), same weights."""
    if isinstance(module, Conv2d):
        layer = torch.nn.Conv2d(module.in_channels, module.out_channels, module.kernel_size, padding=module._pad)
    else:
        layer = torch.nn.Linear(module.n_in, module.n_out)
    return layer.to(torch_dtype(torch, dtype))


def torch_passes(torch, layer, x, grad, repeats):
    """Medians of PyTorch's forward, input-gradient and weight-gradient passes."""
    xt = torch.from_numpy(np.ascontiguousarray(x)).requires_grad_(True)
    gt = torch.from_numpy(np.ascontiguousarray(grad))
    out = layer(xt)
    times = alternate(
        {
            "forward": lambda: layer(xt.detach()),
            "input": lambda: torch.autograd.grad(out, xt, gt, retain_graph=True),
            "weight": lambda: torch.autograd.grad(out, layer.weight, gt, retain_graph=True),
        },
        repeats,
    )
    return [float(np.median(t)) for t in times.values()]


def layer_table(torch, network, dtype, repeats):
    """GFLOP/s of the forward pass, the input gradient and the weight gradient of every
    layer with weights, on one training batch; PyTorch's for the same layer below it."""
    batch = NETWORKS[network]["batch"]
    X, y = mnist_like(batch * 4, dtype)
    net = estimator(network).fit(X, y.astype(np.int64)).network_
    net.train()
    out = X[:batch].reshape(batch, 1, 28, 28)
    rows = []
    for module in net.modules:
        inp, out = out, module.forward(out)
        work = flops(module, np.shape(inp), np.shape(out))
        if not work:
            continue
        grad = np.ones(out.shape, dtype=dtype)
        times = alternate(
            {
                "forward": lambda m=module, i=inp: m.forward(i),
                "input": lambda m=module, i=inp, g=grad: m.updateGradInput(i, g),
                "weight": lambda m=module, i=inp, g=grad: m.accGradParameters(i, g),
            },
            repeats,
        )
        module.forward(inp)
        rows.append((repr(module), work, [float(np.median(t)) for t in times.values()]))
        if torch is not None:
            layer = torch_layer(torch, module, dtype)
            rows.append(("  torch", work, torch_passes(torch, layer, inp, grad, repeats)))
    net.evaluate()
    net.clearState()
    name = f"{network} {np.dtype(dtype).name}, one batch of {batch}"
    print(f"{name:<38}{'GFLOP':>7}{'forward':>19}{'input grad':>19}{'weight grad':>19}")
    for label, work, times in rows:
        cells = "".join(f"{t * 1e3:9.2f} ms {work / t / 1e9:4.0f}/s" for t in times)
        print(f"{label:<38}{work / 1e9:7.3f}{cells}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--networks", nargs="+", choices=sorted(NETWORKS), default=["keras", "small"])
    parser.add_argument("--dtypes", nargs="+", choices=["float32", "float64"], default=["float32", "float64"])
    parser.add_argument("--no-layers", action="store_true", help="skip the per-layer GFLOP/s tables")
    args = parser.parse_args()
    torch = torch_or_none()
    print(f"machine: {machine()}" + (f", torch {torch.__version__}" if torch else ", torch not installed"))
    for dtype in args.dtypes:
        for network in args.networks:
            bench_epoch(torch, network, dtype, args.repeats)
        if "keras" in args.networks:
            bench_predict(torch, "keras", dtype, args.repeats)
    if not args.no_layers:
        for dtype in args.dtypes:
            for network in args.networks:
                layer_table(torch, network, dtype, args.repeats)


if __name__ == "__main__":
    main()
