"""Flush-to-zero of subnormal numbers: set inside the block, restored after, used by fit."""

import platform
import sys
import threading

import numpy as np
import pytest
from sklearn.datasets import load_digits

import sknn_scratch.fpenv as fpenv
from sknn_scratch import NumpyNetClassifier
from sknn_scratch.fpenv import flush_denormals, flush_denormals_supported
from sknn_scratch.nn import Module

KNOWN_PLATFORM = (
    sys.platform.startswith("linux")
    and platform.machine().lower() in ("x86_64", "amd64")
    and platform.libc_ver()[0] == "glibc"
)
needs_support = pytest.mark.skipif(not flush_denormals_supported(), reason="no flush-to-zero on this platform")


def flushing():
    """True when this thread flushes subnormal results (and inputs) to zero."""
    product = np.array([1e-38], dtype=np.float32) * np.float32(0.5)  # 5e-39 is subnormal
    subnormal_input = np.array([1e-40], dtype=np.float32) * np.float32(1e30)  # DAZ reads 1e-40 as 0
    assert (product[0] == 0) == (subnormal_input[0] == 0)
    return bool(product[0] == 0)


@pytest.mark.skipif(not KNOWN_PLATFORM, reason="only x86-64 Linux with glibc is known")
def test_supported_where_the_environment_layout_is_known():
    assert flush_denormals_supported()


@needs_support
def test_flushes_inside_and_restores_after():
    assert not flushing()
    with flush_denormals() as active:
        assert active
        assert flushing()
        assert np.float64(1e-310) * 1.0 == 0  # float64 too
    assert not flushing()
    assert np.float32(1e-38) * np.float32(0.5) > 0


@needs_support
def test_restored_after_an_error_and_when_nested():
    with pytest.raises(RuntimeError, match="boom"):
        with flush_denormals():
            raise RuntimeError("boom")
    assert not flushing()
    with flush_denormals():
        with flush_denormals():
            assert flushing()
        assert flushing()  # the inner exit restores the outer block's mode
    assert not flushing()


@needs_support
def test_each_thread_has_its_own_mode():
    checked, seen = threading.Event(), []

    def check():
        checked.wait()
        seen.append(flushing())

    before = threading.Thread(target=check)
    before.start()
    with flush_denormals():
        checked.set()  # the thread checks while this one flushes
        before.join()
        inside = threading.Thread(target=lambda: seen.append(flushing()))
        inside.start()  # a thread started inside the block inherits the mode (Linux)
        inside.join()
        assert flushing()
    assert seen == [False, True]


def test_unsupported_platform_runs_the_block_unchanged(monkeypatch):
    monkeypatch.setattr(platform, "machine", lambda: "arm64")
    fpenv._environment.cache_clear()
    try:
        assert not flush_denormals_supported()
        with flush_denormals() as active:
            assert not active
            assert not flushing()
    finally:
        monkeypatch.undo()
        fpenv._environment.cache_clear()
    assert flush_denormals_supported() == (fpenv._environment() is not None)


class _Spy(Module):
    """An identity layer that records, in training mode, whether the thread flushes
    subnormal numbers (and raises on request)."""

    seen: list = []
    fail = False

    def updateOutput(self, input):
        if self.training:
            type(self).seen.append(flushing())
            if type(self).fail:
                raise RuntimeError("stop")
        self.output = input
        return input

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput
        return gradOutput


@needs_support
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_fit_trains_flushing_and_restores_the_mode(solver):
    X, y = load_digits(return_X_y=True)
    X, y = (X[:200] / 16).astype(np.float32), y[:200]
    _Spy.seen, _Spy.fail = [], False
    clf = NumpyNetClassifier(layers=[("linear", {"n_out": 8}), _Spy()], solver=solver, max_iter=2, random_state=0)
    with pytest.warns(Warning):  # not converged in 2 iterations
        clf.fit(X, y)
    assert _Spy.seen and all(_Spy.seen)
    assert not flushing()


@needs_support
def test_fit_restores_the_mode_when_training_raises():
    X, y = load_digits(return_X_y=True)
    _Spy.seen, _Spy.fail = [], True
    with pytest.raises(RuntimeError, match="stop"):
        NumpyNetClassifier(layers=[("linear", {"n_out": 4}), _Spy()], max_iter=1).fit(X[:50], y[:50])
    _Spy.fail = False
    assert _Spy.seen[-1] is True
    assert not flushing()


def test_probe_works_when_numpy_raises_on_underflow():
    fpenv._environment.cache_clear()
    try:
        with np.errstate(all="raise"):  # the probe multiplies into the subnormal range
            supported = flush_denormals_supported()
            with flush_denormals() as active:
                assert active == supported
        assert supported or not KNOWN_PLATFORM
    finally:
        fpenv._environment.cache_clear()
