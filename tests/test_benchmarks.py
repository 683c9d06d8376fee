"""The PyTorch side of the benchmark scripts (skipped when PyTorch is not installed):
the reference networks must be built in the dtype asked for, however it is spelled."""

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bench_engine import torch_epoch, torch_network  # noqa: E402


@pytest.mark.parametrize("kind", ["mlp", "cnn", "keras"])
@pytest.mark.parametrize("dtype", [np.float32, "float32", np.dtype("float64"), "float64"])
def test_torch_network_dtype(kind, dtype):
    model = torch_network(torch, kind, dtype)
    assert {p.dtype for p in model.parameters()} == {getattr(torch, np.dtype(dtype).name)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_epoch_trains_a_model_of_that_dtype(dtype):
    rng = np.random.default_rng(0)
    X = rng.random((8, 1, 28, 28)).astype(dtype)
    y = rng.integers(0, 10, 8)
    model = torch_epoch(torch, "keras", X, y, 4, dtype)()
    for p in model.parameters():
        assert p.dtype == getattr(torch, dtype)
        assert p.grad is not None and bool(torch.isfinite(p).all())
