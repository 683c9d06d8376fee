"""Side-by-side timings of NumpyNetClassifier, scikit-learn's MLPClassifier and PyTorch CPU.

    python benchmarks/bench_estimators.py [--repeats 5] [--skip-memory]

1. MLP 784-256-128-10, 20,000 samples, batch 128, Adam: one epoch through ``fit``
   (max_iter=1), float32 and float64, against MLPClassifier and PyTorch loops. Each
   PyTorch run trains a new model, as ``fit`` does; the "epochs 5+" rows continue
   training one model, whose later epochs PyTorch runs slower (subnormal numbers).
   The whole-training row fits a new model for 15 epochs (max_iter=15, no early stop).
2. CNN conv3x3(1->8) relu maxpool2 conv3x3(8->16) relu maxpool2 flatten linear(784->10),
   28x28 inputs, batch 64, Adam, float32: one epoch through ``fit`` against PyTorch.
3. predict latency: one row and 10,000 rows, against MLPClassifier.predict.
4. Peak memory of fit on 60,000 x 784 float32 (one epoch), in a fresh process each:
   NumPy's allocations in the process (tracemalloc).

The contenders run in turn, round after round (``--repeats`` rounds, all in this one
process except 4), and each ratio is the median of the rounds' ratios: the machine's
speed drifts, and what is measured side by side compares.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import warnings

import numpy as np
from _common import alternate, machine, mnist_like, paired_ratios, torch_or_none
from bench_engine import torch_epoch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sknn_scratch import NumpyNetClassifier

warnings.simplefilter("ignore", ConvergenceWarning)
N = 20_000
#: epochs of the whole-training row
LONG_EPOCHS = 15
CNN_LAYERS = [
    ("conv2d", {"out_channels": 8, "kernel_size": 3}),
    "relu",
    ("maxpool2d", {"kernel_size": 2}),
    ("conv2d", {"out_channels": 16, "kernel_size": 3}),
    "relu",
    ("maxpool2d", {"kernel_size": 2}),
]


def mlp_params(**extra):
    params = dict(hidden_layer_sizes=(256, 128), batch_size=128, max_iter=1, shuffle=True, random_state=0)
    return {**params, **extra}


def show(name, times, references, results, key):
    """Print our median time and, per reference, its median and the median (range) of the
    per-round ratios; keep the medians of the ratios in ``results``."""
    ours = float(np.median(times["ours"]))
    for ref, (ratio, low, high) in paired_ratios(times).items():
        label = references[ref]
        print(f"{name:<40}{ours:9.4f}{np.median(times[ref]):12.4f}  {ratio:5.2f}x ({low:.2f}-{high:.2f}) {label}")
        results[f"{key}_vs_{ref}"] = ratio


def bench_mlp(torch, repeats):
    results = {}
    for dtype in (np.float32, np.float64):
        X, y = mnist_like(N, dtype)
        named = {
            "ours": lambda X=X, y=y: NumpyNetClassifier(**mlp_params()).fit(X, y),
            "sklearn": lambda X=X, y=y: MLPClassifier(**mlp_params()).fit(X, y),
        }
        if torch is not None:
            named["torch"] = torch_epoch(torch, "mlp", X, y.astype(np.int64), 128, dtype)
        d = np.dtype(dtype).name
        labels = {"sklearn": "MLPClassifier", "torch": "torch (tensor loop)"}
        show(f"MLP epoch {d} (fit, max_iter=1)", alternate(named, repeats), labels, results, f"mlp_{d}")
    return results


def bench_long_mlp(torch, repeats, epochs=LONG_EPOCHS):
    """A whole training run: a new model trained ``epochs`` epochs, float32. Later epochs
    differ from the first: weights of units that never activate decay to zero through
    the slow subnormal range (``fit`` flushes them, see ``sknn_scratch.fpenv``)."""
    X, y = mnist_like(N, np.float32)
    long = dict(max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1)
    named = {
        "ours": lambda: NumpyNetClassifier(**mlp_params(**long)).fit(X, y),
        "sklearn": lambda: MLPClassifier(**mlp_params(**long)).fit(X, y),
    }
    if torch is not None:
        named["torch"] = torch_epoch(torch, "mlp", X, y.astype(np.int64), 128, np.float32, epochs=epochs)
    labels = {"sklearn": "MLPClassifier", "torch": "torch (tensor loop, new model)"}
    results = {}
    show(f"MLP {epochs} epochs float32", alternate(named, repeats, warmup=0), labels, results, "mlp_long_float32")
    return results


def bench_cnn(torch, repeats):
    X, y = mnist_like(N, np.float32)
    params = dict(layers=CNN_LAYERS, input_shape=(1, 28, 28), batch_size=64, max_iter=1, random_state=0)
    named = {"ours": lambda: NumpyNetClassifier(**params).fit(X, y)}
    if torch is None:
        print(f"{'CNN epoch float32 (fit, max_iter=1)':<40}{np.median(alternate(named, repeats)['ours']):9.4f}")
        return {}
    named["torch"] = torch_epoch(torch, "cnn", X.reshape(-1, 1, 28, 28), y.astype(np.int64), 64, np.float32)
    results = {}
    show("CNN epoch float32 (fit, max_iter=1)", alternate(named, repeats), {"torch": "torch (tensor loop)"},
         results, "cnn_float32")  # fmt: skip
    return results


def bench_predict(repeats, calls=200):
    """Latency of ``predict``: ``calls`` calls on one row per timing, and 10,000 rows."""
    X, y = mnist_like(N, np.float32)
    ours = NumpyNetClassifier(**mlp_params()).fit(X, y)
    sk = MLPClassifier(**mlp_params()).fit(X, y)
    one, many = X[:1], mnist_like(10_000, np.float32, seed=1)[0]

    def repeat(predict, rows, n):
        def run():
            for _ in range(n):
                predict(rows)

        return run

    results = {}
    named = {"ours": repeat(ours.predict, one, calls), "sklearn": repeat(sk.predict, one, calls)}
    show("predict, 1 row (x200)", alternate(named, repeats * 4), {"sklearn": "MLPClassifier"}, results, "predict_1")
    named = {"ours": repeat(ours.predict, many, 1), "sklearn": repeat(sk.predict, many, 1)}
    show("predict, 10,000 rows", alternate(named, repeats * 4), {"sklearn": "MLPClassifier"}, results, "predict_10k")
    return results


_MEMORY_SNIPPET = """
import sys, tracemalloc, warnings
import numpy as np
warnings.simplefilter("ignore")
if sys.argv[1] == "ours":
    from sknn_scratch import NumpyNetClassifier as C
else:
    from sklearn.neural_network import MLPClassifier as C
X = np.random.default_rng(0).random((60000, 784), dtype=np.float32)
y = np.random.default_rng(1).integers(0, 10, 60000)
tracemalloc.start()  # NumPy reports its array allocations to tracemalloc
C(hidden_layer_sizes=(256, 128), batch_size=128, max_iter=1, random_state=0).fit(X, y)
print(tracemalloc.get_traced_memory()[1] / 2**20, X.nbytes / 2**20)
"""


def bench_memory():
    out = {}
    for who in ("ours", "sklearn"):
        res = subprocess.run([sys.executable, "-c", _MEMORY_SNIPPET, who], capture_output=True, text=True, check=True)
        out[who], x_mb = map(float, res.stdout.split())
        print(f"peak memory of fit beyond X ({who:<7}): {out[who]:8.1f} MiB   (X itself: {x_mb:.1f} MiB)")
    return {"memory_extra_mib_ours": out["ours"], "memory_extra_mib_sklearn": out["sklearn"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--json", help="also write the ratios to this file")
    args = parser.parse_args()
    torch = torch_or_none()
    print(f"machine: {machine()}" + (f", torch {torch.__version__}" if torch else ", torch not installed"))
    print(f"{'workload':<40}{'ours s':>9}{'reference s':>12}  ratio, median of the rounds' (range)")
    results = {}
    results.update(bench_mlp(torch, args.repeats))
    results.update(bench_long_mlp(torch, min(args.repeats, 3)))
    results.update(bench_cnn(torch, args.repeats))
    results.update(bench_predict(args.repeats))
    if not args.skip_memory:
        results.update(bench_memory())
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
