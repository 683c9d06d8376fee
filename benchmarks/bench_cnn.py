"""The classic Keras MNIST CNN: one training epoch, prediction on 10,000 rows, and the
GFLOP/s of every layer's passes, against PyTorch CPU when it is installed.

    python benchmarks/bench_cnn.py [--repeats 3] [--rows 2048]

Network: conv3x3(1->32, same) relu conv3x3(32->64, same) relu maxpool2 flatten
linear(12544->128) relu linear(128->10); float32, 28x28 rows, batch 128, Adam.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from _common import machine, median_time, mnist_like, torch_or_none
from sklearn.exceptions import ConvergenceWarning

from sknn_scratch import NumpyNetClassifier
from sknn_scratch.nn import Conv2d, Linear

warnings.simplefilter("ignore", ConvergenceWarning)
LAYERS = [
    ("conv2d", {"out_channels": 32, "kernel_size": 3}),
    "relu",
    ("conv2d", {"out_channels": 64, "kernel_size": 3}),
    "relu",
    ("maxpool2d", {"kernel_size": 2}),
    ("linear", {"n_out": 128}),
    "relu",
]
BATCH = 128


def estimator(max_iter=1):
    return NumpyNetClassifier(
        layers=LAYERS, input_shape=(1, 28, 28), batch_size=BATCH, max_iter=max_iter, random_state=0
    )


def torch_model(torch):
    tnn = torch.nn
    return tnn.Sequential(
        tnn.Conv2d(1, 32, 3, padding=1),
        tnn.ReLU(),
        tnn.Conv2d(32, 64, 3, padding=1),
        tnn.ReLU(),
        tnn.MaxPool2d(2),
        tnn.Flatten(),
        tnn.Linear(64 * 14 * 14, 128),
        tnn.ReLU(),
        tnn.Linear(128, 10),
    )


def torch_epoch(torch, X, y):
    Xt, yt = torch.from_numpy(X.reshape(-1, 1, 28, 28)), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)

    def run():
        model = torch_model(torch)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = torch.nn.CrossEntropyLoss()
        order = torch.randperm(len(Xt), generator=generator)
        for start in range(0, len(Xt), BATCH):
            rows = order[start : start + BATCH]
            opt.zero_grad()
            loss_fn(model(Xt[rows]), yt[rows]).backward()
            opt.step()

    return run


def flops(module, x_shape, out_shape):
    """Multiply-adds x 2 of one forward pass (the same for each backward product)."""
    if isinstance(module, Conv2d):
        n, _, ho, wo = out_shape
        return 2 * n * ho * wo * module.out_channels * module.in_channels * module.kernel_size**2
    if isinstance(module, Linear):
        return 2 * x_shape[0] * module.n_in * module.n_out
    return 0


def layer_table(est, X, repeats):
    """GFLOP/s of the forward pass, the input gradient and the weight gradient of every
    layer with weights, on one training batch."""
    net = est.network_
    net.train()
    x = X[:BATCH]
    outputs, inputs = [], []
    out = x
    for module in net.modules:
        inputs.append(out)
        out = module.forward(out)
        outputs.append(out)
    rows = []
    for module, inp, out in zip(net.modules, inputs, outputs, strict=True):
        work = flops(module, np.shape(inp), np.shape(out))
        if not work:
            continue
        grad = np.ones_like(out)
        forward = median_time(lambda m=module, i=inp: m.forward(i), repeats)
        module.forward(inp)
        backward_in = median_time(lambda m=module, i=inp, g=grad: m.updateGradInput(i, g), repeats)
        backward_w = median_time(lambda m=module, i=inp, g=grad: m.accGradParameters(i, g), repeats)
        rows.append((repr(module), work, forward, backward_in, backward_w))
    net.evaluate()
    net.clearState()
    print(f"{'layer (one batch of 128)':<36}{'GFLOP':>8}{'forward':>18}{'input grad':>18}{'weight grad':>18}")
    for name, work, *times in rows:
        cells = "".join(f"{t * 1e3:8.2f} ms {work / t / 1e9:5.0f}/s" for t in times)
        print(f"{name:<36}{work / 1e9:8.3f}{cells}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=2048)
    args = parser.parse_args()
    torch = torch_or_none()
    print(f"machine: {machine()}" + (f", torch {torch.__version__}" if torch else ", torch not installed"))
    X, y = mnist_like(args.rows, np.float32)
    y = y.astype(np.int64)
    ours = median_time(lambda: estimator().fit(X, y), args.repeats)
    theirs = median_time(torch_epoch(torch, X, y), args.repeats) if torch else None
    ratio = f"{ours / theirs:6.2f}x" if theirs else "-"
    print(f"epoch on {args.rows} rows: ours {ours:.3f} s, torch {theirs or float('nan'):.3f} s, ratio {ratio}")

    fitted = estimator().fit(X, y)
    many = mnist_like(10_000, np.float32, seed=1)[0]
    ours_p = median_time(lambda: fitted.predict(many), args.repeats)
    theirs_p = None
    if torch:
        model = torch_model(torch).eval()
        Xt = torch.from_numpy(many.reshape(-1, 1, 28, 28))

        def forward():
            with torch.no_grad():
                return model(Xt).argmax(1)

        theirs_p = median_time(forward, args.repeats)
    ratio = f"{ours_p / theirs_p:6.2f}x" if theirs_p else "-"
    print(f"predict 10,000 rows: ours {ours_p:.3f} s, torch no_grad {theirs_p or float('nan'):.3f} s, ratio {ratio}")
    start = time.perf_counter()
    layer_table(fitted, X, args.repeats)
    print(f"(layer table {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
