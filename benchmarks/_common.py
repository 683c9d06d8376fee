"""Shared helpers of the benchmark scripts: data, timing, optional PyTorch."""

from __future__ import annotations

import os
import platform
import time

import numpy as np


def machine() -> str:
    try:
        import threadpoolctl

        blas = ", ".join(
            f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)"
            for i in threadpoolctl.threadpool_info()
            if i["user_api"] == "blas"
        )
    except Exception:  # threadpoolctl is optional
        blas = "unknown BLAS"
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, {blas}"


def median_time(fn, repeats=5, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def mnist_like(n, dtype, seed=0, image=False):
    """Random 28x28 'images' in [0, 1) with 10 labels (timing only; no download)."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, 784), dtype=np.float64).astype(dtype)
    y = rng.integers(0, 10, n)
    if image:
        X = X.reshape(n, 1, 28, 28)
    return X, y


def torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count() or 1)
    return torch


def torch_dtype(torch, dtype):
    """PyTorch's dtype for a NumPy dtype given in any spelling (``np.float32``, ``"float32"``)."""
    return getattr(torch, np.dtype(dtype).name)


def timed(fn):
    """Seconds one call of ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(named, repeats, warmup=1):
    """Run the callables of ``named`` in turn, ``repeats`` rounds after ``warmup`` rounds;
    the times of each, in rounds. Contenders measured side by side in each round
    compare even when the machine's speed drifts between rounds."""
    for _ in range(warmup):
        for fn in named.values():
            fn()
    times = {name: [] for name in named}
    for _ in range(repeats):
        for name, fn in named.items():
            times[name].append(timed(fn))
    return {name: np.array(t) for name, t in times.items()}


def paired_ratios(times, ours="ours"):
    """For every contender but ``ours``: the median of the per-round ratios ours/theirs
    and their range."""
    mine = times[ours]
    out = {}
    for name, theirs in times.items():
        if name != ours:
            ratio = mine / theirs
            out[name] = (float(np.median(ratio)), float(ratio.min()), float(ratio.max()))
    return out
