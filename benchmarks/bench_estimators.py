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

Every timing is the median of ``--repeats`` runs, all in this one process (except 4).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import warnings

import numpy as np
from _common import machine, median_time, mnist_like, torch_or_none
from bench_engine import torch_dataloader_epoch, torch_epoch
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


def row(name, ours, ref, ref_name):
    ratio = ours / ref if ref else float("nan")
    print(f"{name:<44}{ours:10.4f}{ref if ref else float('nan'):12.4f}  {ratio:6.2f}x {ref_name}", flush=True)
    return ratio


def bench_mlp(torch, repeats):
    results = {}
    for dtype in (np.float32, np.float64):
        X, y = mnist_like(N, dtype)
        ours = median_time(lambda X=X, y=y: NumpyNetClassifier(**mlp_params()).fit(X, y), repeats)
        sk = median_time(lambda X=X, y=y: MLPClassifier(**mlp_params()).fit(X, y), repeats)
        d = np.dtype(dtype).name
        results[f"mlp_{d}_vs_sklearn"] = row(f"MLP epoch {d} (fit, max_iter=1)", ours, sk, "MLPClassifier")
        if torch is not None:
            t = median_time(torch_epoch(torch, "mlp", X, y.astype(np.int64), 128, dtype), repeats)
            results[f"mlp_{d}_vs_torch"] = row(f"MLP epoch {d} (fit, max_iter=1)", ours, t, "torch (tensor loop)")
            t = median_time(torch_dataloader_epoch(torch, "mlp", X, y.astype(np.int64), 128, dtype), repeats)
            results[f"mlp_{d}_vs_torch_dataloader"] = row(
                f"MLP epoch {d} (fit, max_iter=1)", ours, t, "torch (DataLoader loop)"
            )
            later = torch_epoch(torch, "mlp", X, y.astype(np.int64), 128, dtype, fresh=False)
            t = median_time(later, repeats, warmup=4)
            results[f"mlp_{d}_vs_torch_later_epochs"] = row(
                f"MLP epoch {d} (fit, max_iter=1)", ours, t, "torch (tensor loop, epochs 5+ of one model)"
            )
    return results


def bench_long_mlp(torch, repeats, epochs=LONG_EPOCHS):
    """A whole training run: a new model trained ``epochs`` epochs, float32. Later epochs
    differ from the first: weights of units that never activate decay to zero through
    the slow subnormal range (``fit`` flushes them, see ``sknn_scratch.fpenv``)."""
    X, y = mnist_like(N, np.float32)
    long = dict(max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1)
    name = f"MLP {epochs} epochs float32 (max_iter={epochs})"
    ours = median_time(lambda: NumpyNetClassifier(**mlp_params(**long)).fit(X, y), repeats, warmup=0)
    sk = median_time(lambda: MLPClassifier(**mlp_params(**long)).fit(X, y), repeats, warmup=0)
    results = {"mlp_long_float32_vs_sklearn": row(name, ours, sk, "MLPClassifier")}
    if torch is not None:
        run = torch_epoch(torch, "mlp", X, y.astype(np.int64), 128, np.float32, epochs=epochs)
        t = median_time(run, repeats, warmup=0)
        results["mlp_long_float32_vs_torch"] = row(name, ours, t, "torch (tensor loop, new model)")
    return results


def bench_cnn(torch, repeats):
    X, y = mnist_like(N, np.float32)
    params = dict(layers=CNN_LAYERS, input_shape=(1, 28, 28), batch_size=64, max_iter=1, random_state=0)
    ours = median_time(lambda: NumpyNetClassifier(**params).fit(X, y), repeats)
    if torch is None:
        print(f"{'CNN epoch float32 (fit, max_iter=1)':<44}{ours:10.4f}  (torch not installed)")
        return {}
    images, labels = X.reshape(-1, 1, 28, 28), y.astype(np.int64)
    t = median_time(torch_epoch(torch, "cnn", images, labels, 64, np.float32), repeats)
    t2 = median_time(torch_dataloader_epoch(torch, "cnn", images, labels, 64, np.float32), repeats)
    t3 = median_time(torch_epoch(torch, "cnn", images, labels, 64, np.float32, fresh=False), repeats, warmup=4)
    return {
        "cnn_float32_vs_torch": row("CNN epoch float32 (fit, max_iter=1)", ours, t, "torch (tensor loop)"),
        "cnn_float32_vs_torch_dataloader": row(
            "CNN epoch float32 (fit, max_iter=1)", ours, t2, "torch (DataLoader loop)"
        ),
        "cnn_float32_vs_torch_later_epochs": row(
            "CNN epoch float32 (fit, max_iter=1)", ours, t3, "torch (tensor loop, epochs 5+ of one model)"
        ),
    }


def bench_predict(repeats):
    X, y = mnist_like(N, np.float32)
    ours = NumpyNetClassifier(**mlp_params()).fit(X, y)
    sk = MLPClassifier(**mlp_params()).fit(X, y)
    results = {}
    one = X[:1]
    many = mnist_like(10_000, np.float32, seed=1)[0]
    results["predict_1_row"] = row(
        "predict, 1 row",
        median_time(lambda: ours.predict(one), 200),
        median_time(lambda: sk.predict(one), 200),
        "MLPClassifier",
    )
    results["predict_10k_rows"] = row(
        "predict, 10,000 rows",
        median_time(lambda: ours.predict(many), repeats * 4),
        median_time(lambda: sk.predict(many), repeats * 4),
        "MLPClassifier",
    )
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
    print(f"{'workload':<44}{'ours s':>10}{'reference s':>12}  ratio")
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
