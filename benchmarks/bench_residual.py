"""One training epoch of a residual MLP through ``fit``, against the same network in PyTorch.

    python benchmarks/bench_residual.py [--rounds 7] [--threads N] [--clock wall|cpu] [--profile]

The network: ``Linear(100 -> 256)``, then four blocks ``x + Dropout(GELU(Linear(LayerNorm(x))))``
of width 256, then the output layer ``Linear(256 -> 10)``; 20,000 random float32 rows of
100 features with 10 classes (timing only), batch 256, AdamW, one shuffled epoch. Ours is
``NumpyNetClassifier(layers=LAYERS, solver="adamw", batch_size=256, max_iter=1).fit(X, y)``;
PyTorch's builds a new model and optimizer (decay on the weight matrices only, as ours)
and runs the idiomatic loop with ``CrossEntropyLoss`` on a shuffled copy of the data.
The two alternate for ``--rounds`` rounds after one warm-up round; printed are the median
times and the median (range) of the per-round ratios ours / PyTorch's.

``--threads N`` gives both sides N threads (PyTorch's and the BLAS threads behind NumPy);
by default both use every core. ``--clock cpu`` measures the process's CPU time (use it
with ``--threads 1``). ``--profile`` prints where one of our epochs spends its time (``cProfile``).

Run from the repository root with ``PYTHONPATH=.`` to time the working tree.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from _common import machine, torch_or_none

from sknn_scratch import NumpyNetClassifier

N_ROWS, N_FEATURES, N_CLASSES, WIDTH, BLOCKS, BATCH = 20_000, 100, 10, 256, 4, 256
LAYERS = [
    ("linear", {"n_out": WIDTH}),
    *[("residual", [("layernorm", {}), ("linear", {"n_out": WIDTH}), "gelu", ("dropout", {"p": 0.1})])] * BLOCKS,
]
CLOCK = time.perf_counter


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_ROWS, N_FEATURES)).astype(np.float32)
    return X, rng.integers(0, N_CLASSES, N_ROWS)


def ours_epoch(X, y):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # one epoch does not converge
            return NumpyNetClassifier(layers=LAYERS, solver="adamw", batch_size=BATCH, max_iter=1, random_state=0).fit(
                X, y
            )

    return run


def torch_model(torch):
    tnn = torch.nn

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.inner = tnn.Sequential(tnn.LayerNorm(WIDTH), tnn.Linear(WIDTH, WIDTH), tnn.GELU(), tnn.Dropout(0.1))

        def forward(self, x):
            return x + self.inner(x)

    return tnn.Sequential(
        tnn.Linear(N_FEATURES, WIDTH), *[Block() for _ in range(BLOCKS)], tnn.Linear(WIDTH, N_CLASSES)
    )


def torch_epoch(torch, X, y):
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)

    def run():
        model = torch_model(torch)
        weights = [p for name, p in model.named_parameters() if name.endswith("weight") and p.ndim == 2]
        others = [p for name, p in model.named_parameters() if not (name.endswith("weight") and p.ndim == 2)]
        opt = torch.optim.AdamW([{"params": weights}, {"params": others, "weight_decay": 0.0}], lr=1e-3)
        model.train()
        order = torch.randperm(len(Xt), generator=generator)
        Xe, ye = Xt[order], yt[order]
        for start in range(0, len(Xe), BATCH):
            opt.zero_grad()
            loss_fn(model(Xe[start : start + BATCH]), ye[start : start + BATCH]).backward()
            opt.step()
        return model

    return run


def timed(fn):
    start = CLOCK()
    fn()
    return CLOCK() - start


def profile(X, y, lines=25):
    """Where one of our epochs spends its time: ``cProfile``, functions by their own time."""
    import cProfile
    import pstats

    run = ours_epoch(X, y)
    run()  # warm-up
    profiler = cProfile.Profile()
    profiler.runcall(run)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="default: the number of cores")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    torch = torch_or_none()
    if args.threads:
        import threadpoolctl

        threadpoolctl.threadpool_limits(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    X, y = data()
    if args.profile:
        profile(X, y)
        return
    if torch is None:
        raise SystemExit("PyTorch is not installed: nothing to compare with")
    print(f"machine: {machine()}, torch {torch.__version__} ({torch.get_num_threads()} threads), {args.clock} clock")
    named = {"ours": ours_epoch(X, y), "torch": torch_epoch(torch, X, y)}
    for fn in named.values():  # warm-up round
        fn()
    times = {name: [] for name in named}
    for _ in range(args.rounds):
        for name, fn in named.items():
            times[name].append(timed(fn))
    ours, theirs = np.array(times["ours"]), np.array(times["torch"])
    ratios = ours / theirs
    print(
        f"residual MLP epoch (4 x 256, 20,000 x 100 float32): ours {np.median(ours):.3f} s, "
        f"torch {np.median(theirs):.3f} s, ratio {np.median(ratios):.2f}x ({ratios.min():.2f}-{ratios.max():.2f})"
    )


if __name__ == "__main__":
    main()
