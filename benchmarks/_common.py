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
