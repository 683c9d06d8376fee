"""Batches split across threads: the same gradients, the same training, the same API."""

import contextlib
import pickle
import threading
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info, threadpool_limits

import sknn_scratch.estimators._base as base
from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor
from sknn_scratch.estimators._parallel import MIN_PART, SplitBatch, blas_threads
from sknn_scratch.fpenv import flush_denormals_supported
from sknn_scratch.nn import (
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    SoftmaxCrossEntropyCriterion,
    SquaredErrorCriterion,
)

CNN = [("conv2d", {"out_channels": 4, "kernel_size": 3}), "relu", ("maxpool2d", {"kernel_size": 2})]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16, y[:400]


class _Threads:
    """What the estimators see of BLAS: 2 threads (so batches are split even on a
    single-core machine) unless :meth:`one` is active; ``calls`` counts split batches."""

    def __init__(self):
        self.n = 2
        self.calls = []

    @contextlib.contextmanager
    def one(self):
        self.n = 1
        try:
            yield
        finally:
            self.n = 2


@pytest.fixture
def two_threads(monkeypatch):
    threads = _Threads()
    monkeypatch.setattr(base, "blas_threads", lambda: threads.n)
    original = SplitBatch.loss_grad

    def spy(self, X, Y, sample_weight, accumulate=True):
        threads.calls.append(X.shape[0])
        return original(self, X, Y, sample_weight, accumulate)

    monkeypatch.setattr(SplitBatch, "loss_grad", spy)
    return threads


def _blas_limits():
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def _cnn(seed=0):
    rng = np.random.default_rng(seed)
    return Sequential(
        Conv2d(1, 3, 3, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(48, 5, rng=rng),
    )


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_parts", [2, 3])
def test_split_batch_gradient_equals_whole_batch(weighted, n_parts):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((37, 1, 8, 8))
    y = rng.integers(0, 5, 37)
    w = rng.random(37) if weighted else None
    whole, split_net = _cnn(), _cnn()
    packed = [base._Packed(net, np.float64) for net in (whole, split_net)]
    np.testing.assert_array_equal(packed[0].params, packed[1].params)
    head = SoftmaxCrossEntropyCriterion()
    loss = head.loss_and_grad(whole.forward(X), y, w)[0]
    whole.backward(X, head.gradInput, input_grad=False)
    with SplitBatch(split_net, SoftmaxCrossEntropyCriterion(), packed[1].grads, n_parts) as split:
        split_loss = split.loss_grad(X, y, w)
    assert split_loss == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(packed[1].grads, packed[0].grads, rtol=1e-10, atol=1e-14)
    assert np.abs(packed[0].grads).max() > 0


@pytest.mark.skipif(not flush_denormals_supported(), reason="no flush-to-zero on this platform")
def test_split_batch_workers_flush_subnormals(monkeypatch):
    # the estimators train inside flush_denormals(), which is per thread: each part
    # run by the pool sets it again, whatever mode the pool's threads started with
    seen = {}
    original = Conv2d.updateOutput

    def spy(self, input):
        seen[threading.get_ident()] = bool(np.float32(1e-38) * np.float32(0.5) == 0)
        return original(self, input)

    monkeypatch.setattr(Conv2d, "updateOutput", spy)
    net = _cnn()
    packed = base._Packed(net, np.float32)
    X = np.random.default_rng(0).standard_normal((4 * MIN_PART, 1, 8, 8)).astype(np.float32)
    with SplitBatch(net, SoftmaxCrossEntropyCriterion(), packed.grads, 2) as split:
        split.loss_grad(X, np.arange(X.shape[0]) % 5, None)
    caller = seen.pop(threading.get_ident())
    assert caller is False  # this thread is not in a flush_denormals() block
    assert list(seen.values()) == [True]


def test_split_batch_replicas_share_parameters_not_gradients():
    net = _cnn()
    packed = base._Packed(net, np.float64)
    split = SplitBatch(net, SquaredErrorCriterion(), packed.grads, 2)
    replica, _, own = split._workers[1]
    assert replica is not net and own is not packed.grads
    assert replica[0].W is net[0].W and replica[4].b is net[4].b
    assert np.shares_memory(replica[0].gradW, own) and np.shares_memory(net[0].gradW, packed.grads)
    assert not np.shares_memory(replica[0].gradW, packed.grads)
    packed.params += 1.0  # an optimizer step on the shared vector reaches the replica
    np.testing.assert_array_equal(replica[0].W, net[0].W)


def test_split_batch_small_batch_runs_whole(two_threads):
    net = _cnn()
    packed = base._Packed(net, np.float64)
    X = np.random.default_rng(0).standard_normal((2 * MIN_PART - 1, 1, 8, 8))
    with SplitBatch(net, SoftmaxCrossEntropyCriterion(), packed.grads, 2) as split:
        assert split._bounds(X.shape[0]) is None
        assert split._bounds(2 * MIN_PART).tolist() == [0, MIN_PART, 2 * MIN_PART]
        split.loss_grad(X, np.zeros(X.shape[0], dtype=int), None)
    assert net[0].output is not None  # part 0 is the network itself
    assert np.abs(packed.grads).max() > 0


def test_split_batch_limits_blas_and_restores_it():
    before = _blas_limits()
    net = _cnn()
    packed = base._Packed(net, np.float64)
    with SplitBatch(net, SoftmaxCrossEntropyCriterion(), packed.grads, 2):
        assert all(n == 1 for n in _blas_limits())
    assert _blas_limits() == before
    with pytest.raises(ValueError, match="n_parts must be at least 2"):
        SplitBatch(net, SoftmaxCrossEntropyCriterion(), packed.grads, 1)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_classifier_split_training_matches_one_thread(digits, two_threads, solver):
    X, y = digits
    w = np.random.default_rng(0).random(len(y))
    params = dict(layers=CNN, input_shape=(1, 8, 8), max_iter=4, random_state=0, solver=solver, batch_size=64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        split = NumpyNetClassifier(**params).fit(X, y, sample_weight=w)
        assert two_threads.calls, "the batches were not split"
        two_threads.calls.clear()
        with two_threads.one():
            serial = NumpyNetClassifier(**params).fit(X, y, sample_weight=w)
    assert not two_threads.calls
    assert split.loss_ == pytest.approx(serial.loss_, rel=1e-9)
    for a, b in zip(split.coefs_ + split.intercepts_, serial.coefs_ + serial.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)
    np.testing.assert_array_equal(split.predict(X), serial.predict(X))
    assert "_split" not in vars(split)
    pickle.loads(pickle.dumps(split))  # no thread pool left behind


def test_regressor_split_training_matches_one_thread(digits, two_threads):
    X, y = digits
    params = dict(layers=CNN, input_shape=(1, 8, 8), max_iter=3, random_state=0, batch_size=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        split = NumpyNetRegressor(**params).fit(X, y.astype(float))
        assert two_threads.calls
        with two_threads.one():
            serial = NumpyNetRegressor(**params).fit(X, y.astype(float))
    assert split.loss_curve_ == pytest.approx(serial.loss_curve_, rel=1e-9)
    np.testing.assert_allclose(split.predict(X), serial.predict(X), rtol=1e-7)


@pytest.mark.parametrize(
    "params",
    [
        dict(hidden_layer_sizes=(16,)),  # dense: one thread with a threaded BLAS is faster
        dict(layers=CNN + ["batchnorm"], input_shape=(1, 8, 8)),  # mixes samples
        dict(layers=CNN + [("dropout", {"p": 0.2})], input_shape=(1, 8, 8)),  # draws masks
        dict(layers=CNN, input_shape=(1, 8, 8), batch_size=2 * MIN_PART - 1),  # too small
    ],
)
def test_batches_not_split(digits, two_threads, params):
    X, y = digits
    est = NumpyNetClassifier(max_iter=1, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert not two_threads.calls
    assert isinstance(est._split_batches(len(y), est._packed), contextlib.nullcontext)


def test_error_in_a_thread_leaves_estimator_unchanged(digits, two_threads, monkeypatch):
    X, y = digits
    est = NumpyNetClassifier(layers=CNN, input_shape=(1, 8, 8), max_iter=2, random_state=0, batch_size=64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    before = [a.copy() for a in est.coefs_]
    limits = _blas_limits()
    original = SplitBatch._run

    def failing(worker, *args):
        if worker[2] is not None:  # a replica, on the pool's thread
            raise RuntimeError("boom in a worker")
        return original(worker, *args)

    monkeypatch.setattr(SplitBatch, "_run", staticmethod(failing))
    with pytest.raises(RuntimeError, match="boom in a worker"):
        est.partial_fit(X, y)
    assert _blas_limits() == limits
    assert "_split" not in vars(est)
    for a, b in zip(est.coefs_, before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_blas_threads_follows_threadpool_limits():
    if not _blas_limits():
        pytest.skip("no BLAS library loaded")
    with threadpool_limits(limits=1, user_api="blas"):
        assert blas_threads() == 1
    assert blas_threads() == max(_blas_limits())
