"""Time the forward + backward pass of the new blocks against PyTorch CPU (float32).

    python benchmarks/bench_components.py [--rounds 30] [--threads N] [--clock wall|cpu] [--only NAME ...] [--eval]

Each case runs one training-mode forward pass and one backward pass (input gradient
and parameter gradients) of one module: ours, then PyTorch's, alternating for
``--rounds`` rounds. With ``--eval`` it runs one evaluation-mode forward pass instead
(prediction; PyTorch's under ``torch.no_grad()``). Each timing repeats the pass until it takes a few milliseconds.
Printed: the median time per pass of each side and the median of the per-round ratios
(ours / PyTorch's), which the machine's slow phases affect least.

``--threads N`` gives both sides N threads (PyTorch's intra-op threads and the BLAS
threads behind NumPy); by default both use every core. ``--clock cpu`` measures the
CPU time of the process instead of the wall-clock time: on a machine busy with other
work it leaves out the time the process waits for a core (use it with ``--threads 1``;
with more threads it adds up the threads' times).

Run from the repository root with ``PYTHONPATH=.`` to time the working tree rather than
an installed copy.

Cases: LayerNorm, GELU, SiLU and Mish on tabular MLP batches (256 rows of width 256 and
512) and a larger chunk (4096 x 256); Embedding of 256 x 8 codes into a 1000 x 16 table; Conv1d 16 -> 32
channels, kernel 5, on a batch of 64 sequences of length 128.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import machine, torch_or_none

from sknn_scratch import nn


def _cases():
    """name -> (our module, PyTorch module factory, input maker, codes?)."""
    rng = np.random.default_rng(0)

    def normal(*shape):
        return lambda: rng.normal(size=shape).astype(np.float32)

    cases = {}
    for rows, width in ((256, 256), (256, 512), (4096, 256)):
        shape = (rows, width)
        cases[f"LayerNorm({width}) {rows}x{width}"] = (
            nn.LayerNorm(width, dtype=np.float32),
            ("LayerNorm", width),
            normal(*shape),
            False,
        )
        for name in ("GELU", "SiLU", "Mish"):
            cases[f"{name} {rows}x{width}"] = (getattr(nn, name)(), (name,), normal(*shape), False)
    cases["Embedding(1000, 16) 256x8"] = (
        nn.Embedding(1000, 16, rng=0, dtype=np.float32),
        ("Embedding",),
        lambda: rng.integers(0, 1000, size=(256, 8)),
        True,
    )
    cases["Conv1d(16, 32, 5) 64x16x128"] = (
        nn.Conv1d(16, 32, 5, rng=0, dtype=np.float32),
        ("Conv1d",),
        normal(64, 16, 128),
        False,
    )
    return cases


def _torch_module(torch, kind):
    name, *args = kind
    tnn = torch.nn
    return {
        "LayerNorm": tnn.LayerNorm,
        "GELU": tnn.GELU,
        "SiLU": tnn.SiLU,
        "Mish": tnn.Mish,
        "Embedding": lambda: tnn.Embedding(1000, 16),
        "Conv1d": lambda: tnn.Conv1d(16, 32, 5),
    }[name](*args)


def ours_pass(module, x, g, evaluation=False):
    if evaluation:
        return lambda: module.forward(x)

    def run():
        module.zeroGradParameters()
        module.forward(x)
        module.backward(x, g)

    return run


def torch_pass(torch, module, x, g, codes, evaluation=False):
    xt = torch.from_numpy(x)
    if evaluation:
        module.eval()

        def predict():
            with torch.no_grad():
                module(xt)

        return predict
    if not codes:
        xt.requires_grad_(True)
    gt = torch.from_numpy(g)

    def run():
        module.zero_grad(set_to_none=True)
        xt.grad = None
        module(xt).backward(gt)

    return run


def repeats_for(fn, target=0.005):
    """How many calls of ``fn`` take about ``target`` seconds (at least 1)."""
    fn()
    start = time.perf_counter()
    fn()
    return max(1, int(target / max(time.perf_counter() - start, 1e-7)))


CLOCK = time.perf_counter


def timed(fn, n):
    start = CLOCK()
    for _ in range(n):
        fn()
    return (CLOCK() - start) / n


def compare(torch, name, case, rounds, evaluation=False):
    module, kind, make_input, codes = case
    x = make_input()
    module.train()
    g = np.random.default_rng(1).normal(size=module.forward(x).shape).astype(np.float32)
    if evaluation:
        module.evaluate()
    ours = ours_pass(module, x, g, evaluation)
    theirs = torch_pass(torch, _torch_module(torch, kind), x, g, codes, evaluation)
    n_ours, n_theirs = repeats_for(ours), repeats_for(theirs)
    times, ratios = [], []
    for _ in range(rounds):
        a, b = timed(ours, n_ours), timed(theirs, n_theirs)
        times.append((a, b))
        ratios.append(a / b)
    a, b = np.median(times, axis=0)
    return a, b, float(np.median(ratios)), float(np.percentile(ratios, 25)), float(np.percentile(ratios, 75))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None, help="default: the number of cores")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--only", nargs="*", default=None, help="cases whose name starts with one of these")
    parser.add_argument("--eval", action="store_true", help="time the evaluation-mode forward pass alone")
    args = parser.parse_args()
    torch = torch_or_none()
    if torch is None:
        raise SystemExit("PyTorch is not installed: nothing to compare with")
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.threads:
        import threadpoolctl

        threadpoolctl.threadpool_limits(args.threads)
        torch.set_num_threads(args.threads)
    print(f"machine: {machine()}, torch {torch.__version__} ({torch.get_num_threads()} threads), {args.clock} clock")
    passes = "evaluation forward" if args.eval else "forward + backward"
    print(f"{f'case (float32, {passes})':<40}{'ours ms':>10}{'torch ms':>10}{'ratio':>8}{'IQR':>14}")
    for name, case in _cases().items():
        if args.only and not any(name.startswith(prefix) for prefix in args.only):
            continue
        a, b, ratio, low, high = compare(torch, name, case, args.rounds, args.eval)
        print(f"{name:<40}{a * 1e3:10.3f}{b * 1e3:10.3f}{ratio:8.2f}{f'{low:.2f}-{high:.2f}':>14}", flush=True)


if __name__ == "__main__":
    main()
