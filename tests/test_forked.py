"""Training split across forked processes: the same training as in one process, the
workers always gone afterwards, errors reported, nothing left in shared memory."""

import contextlib
import mmap
import os
import pickle
import threading
import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info

import sknn_scratch.estimators._base as base
import sknn_scratch.estimators._forked as forked_module
from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor
from sknn_scratch.estimators import WorkerError
from sknn_scratch.estimators._forked import ForkedTraining, forked_training_supported, shared_zeros
from sknn_scratch.nn import Linear, ReLU, Sequential
from sknn_scratch.optim.optimizers import aligned_zeros

pytestmark = pytest.mark.skipif(not forked_training_supported(), reason="forked training needs x86-64 Linux")

CNN = [("conv2d", {"out_channels": 4, "kernel_size": 3}), "relu", ("maxpool2d", {"kernel_size": 2})]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16, y[:400]


class _Runs:
    """Forces runs to fork (any size, ``n`` BLAS threads) and records them: ``runs``
    holds ``(n_parts, worker pids)`` of every forked run."""

    def __init__(self, monkeypatch):
        self.n = 2
        self.runs = []
        self._monkeypatch = monkeypatch
        monkeypatch.setattr(base, "_FORK_MIN_STEPS", 0)
        monkeypatch.setattr(base, "_FORK_MIN_STEP_WORK", 0)
        monkeypatch.setattr(base, "blas_threads", lambda: self.n)
        monkeypatch.setattr(base, "_usable_cpus", lambda: self.n)
        original = ForkedTraining._open
        runs = self.runs

        def spy(self):
            try:
                original(self)
            finally:
                runs.append((self.n_parts, list(self._pids)))

        monkeypatch.setattr(ForkedTraining, "_open", spy)

    @contextlib.contextmanager
    def serial(self):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(base, "_FORK_MIN_STEPS", 10**12)
            yield

    def pids(self):
        return [pid for _, pids in self.runs for pid in pids]


@pytest.fixture
def forked(monkeypatch):
    return _Runs(monkeypatch)


def _fit(make, X, y, sample_weight=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make(**params).fit(X, y, sample_weight=sample_weight)


def _assert_same_training(a, b, rtol=1e-7):
    assert a.loss_curve_ == pytest.approx(b.loss_curve_, rel=1e-9)
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_allclose(p, q, rtol=rtol, atol=1e-10)
    assert a._optimizer.state.get("t") == b._optimizer.state.get("t")
    for name in type(a._optimizer)._carried:
        for index, value in b._optimizer.state[name].items():
            np.testing.assert_allclose(a._optimizer.state[name][index], value, rtol=1e-6, atol=1e-12)


def _wait_gone(pid, timeout=10.0):
    """True once the child ``pid`` has exited (reaping it), False if it still runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if done:
            return True
        time.sleep(0.01)
    return False


def _memory_owner(array):
    """The object that owns an array's memory (an mmap for shared memory)."""
    while True:
        if isinstance(array, np.ndarray) and array.base is not None:
            array = array.base
        elif isinstance(array, memoryview):
            array = array.obj
        else:
            return array


def _assert_private(est):
    """Nothing of the estimator lives in shared memory any more."""
    arrays = [est._packed.params, est._packed.grads] + est.coefs_ + est.intercepts_
    for name in type(est._optimizer)._carried:
        arrays += list(est._optimizer.state[name].values())
    for array in arrays:
        assert not isinstance(_memory_owner(array), mmap.mmap)
    assert est._packed.is_current(est._net)


def _blas_limits():
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_classifier_matches_one_process(digits, forked, solver):
    X, y = digits
    w = np.random.default_rng(0).random(len(y))
    params = dict(hidden_layer_sizes=(32,), max_iter=4, random_state=0, solver=solver, batch_size=50)
    limits = _blas_limits()
    split = _fit(NumpyNetClassifier, X, y, sample_weight=w, **params)
    assert [parts for parts, _ in forked.runs] == [2]
    with forked.serial():
        serial = _fit(NumpyNetClassifier, X, y, sample_weight=w, **params)
    assert len(forked.runs) == 1
    _assert_same_training(split, serial)
    np.testing.assert_array_equal(split.predict(X), serial.predict(X))
    assert _blas_limits() == limits
    assert all(_wait_gone(pid) for pid in forked.pids())
    _assert_private(split)
    pickle.loads(pickle.dumps(split))


def test_runs_are_reproducible(digits, forked):
    X, y = digits
    params = dict(hidden_layer_sizes=(16,), max_iter=3, random_state=1, batch_size=40)
    a, b = (_fit(NumpyNetClassifier, X, y, **params) for _ in range(2))
    assert a.loss_curve_ == b.loss_curve_
    for p, q in zip(a.coefs_, b.coefs_, strict=True):
        np.testing.assert_array_equal(p, q)


def test_regressor_and_convolutional_network_match_one_process(digits, forked):
    X, y = digits
    params = dict(layers=CNN, input_shape=(1, 8, 8), max_iter=3, random_state=0, batch_size=48)
    split = _fit(NumpyNetRegressor, X, y.astype(float), **params)
    with forked.serial():
        serial = _fit(NumpyNetRegressor, X, y.astype(float), **params)
    assert len(forked.runs) == 1
    _assert_same_training(split, serial)
    np.testing.assert_allclose(split.predict(X), serial.predict(X), rtol=1e-7)


def test_three_processes(digits, forked):
    forked.n = 3
    X, y = digits
    params = dict(hidden_layer_sizes=(24, 12), max_iter=2, random_state=0, batch_size=64)
    split = _fit(NumpyNetClassifier, X, y, **params)
    assert forked.runs[0][0] == 3 and len(forked.runs[0][1]) == 2
    with forked.serial():
        serial = _fit(NumpyNetClassifier, X, y, **params)
    _assert_same_training(split, serial)
    assert all(_wait_gone(pid) for pid in forked.pids())


@pytest.mark.parametrize("schedule", ["invscaling", "adaptive"])
def test_learning_rate_schedules_reach_the_workers(digits, forked, schedule):
    """The workers update their share with the learning rate of the epoch: with the
    first epoch's rate kept, the weights in their share would drift from one process's."""
    X, y = digits
    params = dict(
        hidden_layer_sizes=(16,),
        solver="sgd",
        learning_rate=schedule,
        learning_rate_init=0.5,
        max_iter=12,
        n_iter_no_change=1,
        tol=0.5,  # "adaptive" divides the rate by 5 after every epoch that does not improve by tol
        random_state=0,
        batch_size=50,
    )
    split = _fit(NumpyNetClassifier, X, y, **params)
    with forked.serial():
        serial = _fit(NumpyNetClassifier, X, y, **params)
    assert split._optimizer.learning_rate < 0.5  # the schedule did change the rate
    assert split._optimizer.learning_rate == serial._optimizer.learning_rate
    _assert_same_training(split, serial)


def test_early_stopping_and_unshuffled_zero_weight_batches(digits, forked):
    X, y = digits
    w = np.ones(len(y))
    w[100:200] = 0  # whole batches of zero weight: skipped, rows still checked
    params = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0, batch_size=50, shuffle=False)
    split = _fit(NumpyNetClassifier, X, y, sample_weight=w, **params)
    stopped = _fit(NumpyNetClassifier, X, y, early_stopping=True, **dict(params, shuffle=True))
    with forked.serial():
        serial = _fit(NumpyNetClassifier, X, y, sample_weight=w, **params)
        serial_stopped = _fit(NumpyNetClassifier, X, y, early_stopping=True, **dict(params, shuffle=True))
    assert len(forked.runs) == 2
    _assert_same_training(split, serial)
    _assert_same_training(stopped, serial_stopped)
    assert stopped.validation_scores_ == pytest.approx(serial_stopped.validation_scores_)


def test_partial_fit_carries_the_optimizer_state(digits, forked):
    X, y = digits
    params = dict(hidden_layer_sizes=(16,), random_state=0, batch_size=40)
    split = NumpyNetClassifier(**params)
    for _ in range(3):
        split.partial_fit(X, y, classes=np.unique(y))
    assert len(forked.runs) == 3
    with forked.serial():
        serial = NumpyNetClassifier(**params)
        for _ in range(3):
            serial.partial_fit(X, y, classes=np.unique(y))
    _assert_same_training(split, serial)
    _assert_private(split)


@pytest.mark.parametrize("row", [10, 30])  # the first batch's halves: the parent's, the worker's
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_rows_raise_and_leave_a_refit_unchanged(digits, forked, row, value):
    X, y = digits
    params = dict(hidden_layer_sizes=(16,), max_iter=2, random_state=0, batch_size=50, shuffle=False)
    est = _fit(NumpyNetClassifier, X, y, **params)
    before = est.predict_proba(X)
    bad = X.copy()
    bad[row, 3] = value
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        est.fit(bad, y)
    assert len(forked.runs) == 2
    np.testing.assert_array_equal(est.predict_proba(X), before)
    assert all(_wait_gone(pid) for pid in forked.pids())
    _assert_private(est)


def test_a_failing_worker_is_reported_and_leaves_the_estimator_unchanged(digits, forked, monkeypatch):
    X, y = digits
    params = dict(hidden_layer_sizes=(16,), max_iter=2, random_state=0, batch_size=50)
    est = _fit(NumpyNetClassifier, X, y, **params)
    before = [a.copy() for a in est.coefs_]
    limits = _blas_limits()
    parent = os.getpid()
    original = ForkedTraining._update

    def failing(self, *args):
        if os.getpid() != parent:
            raise RuntimeError("boom in a worker")
        return original(self, *args)

    monkeypatch.setattr(ForkedTraining, "_update", failing)
    with pytest.raises(WorkerError, match="(?s)failed.*boom in a worker"):
        est.fit(X, y)
    assert _blas_limits() == limits
    for a, b in zip(est.coefs_, before, strict=True):
        np.testing.assert_array_equal(a, b)
    assert all(_wait_gone(pid) for pid in forked.pids())
    _assert_private(est)


def test_a_worker_that_dies_is_reported(digits, forked, monkeypatch):
    X, y = digits
    parent = os.getpid()
    original = ForkedTraining._loss_grad

    def dying(self, *args, **kwargs):
        if os.getpid() != parent:
            os._exit(3)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ForkedTraining, "_loss_grad", dying)
    with pytest.raises(WorkerError, match="ended unexpectedly"):
        NumpyNetClassifier(hidden_layer_sizes=(16,), max_iter=2, random_state=0, batch_size=50).fit(X, y)
    assert all(_wait_gone(pid) for pid in forked.pids())


def test_an_interrupt_stops_the_workers_and_keeps_the_model(digits, forked, monkeypatch):
    X, y = digits
    original = ForkedTraining.step
    calls = []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 12:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ForkedTraining, "step", interrupted)
    est = NumpyNetClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0, batch_size=50)
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X, y)
    assert est.n_iter_ == 1 and len(calls) == 12  # 8 batches per epoch
    assert all(_wait_gone(pid) for pid in forked.pids())
    _assert_private(est)
    assert np.isfinite(est.predict_proba(X)).all()
    est.partial_fit(X, y)  # and it trains on
    assert est.n_iter_ == 1 and len(calls) == 20


def test_no_fork_trains_in_this_process(digits, forked, monkeypatch):
    X, y = digits

    def no_fork():
        raise OSError("fork: resource temporarily unavailable")

    monkeypatch.setattr(forked_module.os, "fork", no_fork)
    params = dict(hidden_layer_sizes=(16,), max_iter=2, random_state=0, batch_size=50)
    est = _fit(NumpyNetClassifier, X, y, **params)
    assert forked.runs == [(2, [])]
    with forked.serial():
        serial = _fit(NumpyNetClassifier, X, y, **params)
    _assert_same_training(est, serial, rtol=0)
    _assert_private(est)


def _processes(est, X, y, incremental=False):
    """What ``_training_processes`` decides for ``est`` on ``(X, y)``."""
    Xv, Y, _ = est._validate_input(X, y, incremental, reset=True)
    est._initialize(Xv, Y, base._training_rng(0))
    packed = est._pack(Xv.dtype)
    return est._training_processes(X, packed, incremental)


def test_which_runs_fork(monkeypatch):
    monkeypatch.setattr(base, "blas_threads", lambda: 2)
    monkeypatch.setattr(base, "_usable_cpus", lambda: 2)
    rng = np.random.default_rng(0)
    X, y = rng.random((1000, 784)), rng.integers(0, 3, 1000)
    big = dict(hidden_layer_sizes=(256, 128), batch_size=128)
    assert _processes(NumpyNetClassifier(**big), X, y) == 2
    assert _processes(NumpyNetClassifier(**big, max_iter=1), X, y, incremental=True) == 0  # 8 steps
    assert _processes(NumpyNetClassifier(**big, solver="lbfgs"), X, y) == 0
    assert _processes(NumpyNetClassifier(**big, dropout=0.1), X, y) == 0  # not sample-wise
    assert _processes(NumpyNetClassifier(**big, batch_norm=True), X, y) == 0
    assert _processes(NumpyNetClassifier(hidden_layer_sizes=(8,), batch_size=32), X[:, :20], y) == 0  # little work
    est = NumpyNetClassifier(**big)
    assert _processes(est, sp.csr_matrix(X), y) == 0
    monkeypatch.setattr(base, "forked_training_supported", lambda: False)
    assert _processes(NumpyNetClassifier(**big), X, y) == 0
    monkeypatch.setattr(base, "forked_training_supported", lambda: True)
    monkeypatch.setattr(base, "blas_threads", lambda: 8)
    assert _processes(NumpyNetClassifier(**big), X, y) == 2  # the CPUs there are
    monkeypatch.setattr(base, "_usable_cpus", lambda: 8)
    assert _processes(NumpyNetClassifier(**big), X, y) == 8  # 16 rows each
    assert _processes(NumpyNetClassifier(**dict(big, batch_size=40)), X, y) == 2
    monkeypatch.setattr(base, "blas_threads", lambda: 1)  # e.g. under threadpoolctl's limit
    assert _processes(NumpyNetClassifier(**big), X, y) == 0
    monkeypatch.setattr(base, "blas_threads", lambda: 2)
    decided = []
    thread = threading.Thread(target=lambda: decided.append(_processes(NumpyNetClassifier(**big), X, y)))
    thread.start()
    thread.join()
    assert decided == [0]  # only the main thread forks


def test_packed_vectors_move_and_gradients_rebind():
    rng = np.random.default_rng(0)
    net = Sequential(Linear(4, 3, rng=rng), ReLU(), Linear(3, 2, rng=rng))
    packed = base._Packed(net, np.float64)
    before = packed.params.copy()
    packed.grads[:] = 1.0
    packed.relocate(net, shared_zeros)
    assert isinstance(_memory_owner(packed.params), mmap.mmap)
    np.testing.assert_array_equal(packed.params, before)
    np.testing.assert_array_equal(packed.grads, 0)
    assert packed.is_current(net)
    first = net.modules[0]
    assert first.W.flags.f_contiguous  # the layout of each parameter is kept
    first.W[0, 0] = 5.0
    assert 5.0 in packed.params
    own = aligned_zeros(packed.grads.shape, packed.grads.dtype)
    packed.bind_gradients(net, own)
    first.gradW[...] = 2.0
    net.modules[2].gradb[...] = 3.0
    assert np.count_nonzero(own == 2.0) == first.gradW.size and np.count_nonzero(own == 3.0) == 2
    np.testing.assert_array_equal(packed.grads, 0)
    packed.relocate(net, aligned_zeros)
    assert not isinstance(_memory_owner(packed.params), mmap.mmap)
    assert first.W[0, 0] == 5.0


def test_objects_are_frozen_for_the_run_only(digits, forked, monkeypatch):
    """The objects there are when the workers fork stay out of garbage collection
    (a full collection would copy every page it visits) until the run ends."""
    import gc

    X, y = digits
    counts = []
    original = ForkedTraining.step

    def spy(self, *args, **kwargs):
        counts.append(gc.get_freeze_count())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ForkedTraining, "step", spy)
    assert gc.get_freeze_count() == 0
    _fit(NumpyNetClassifier, X, y, hidden_layer_sizes=(16,), max_iter=1, random_state=0, batch_size=50)
    assert counts and min(counts) > 0
    assert gc.get_freeze_count() == 0


def test_sparse_sample_weights_with_shuffling_match_one_process(digits, forked):
    """One row of non-zero weight: a single batch is trained per epoch, elsewhere each
    time. The batch a worker gathers ahead is never the next one of the epoch, and
    sometimes sits where the next epoch's batch does, in the previous epoch's order."""
    X, y = digits
    w = np.zeros(len(y))
    w[7] = 1.0
    params = dict(
        hidden_layer_sizes=(16,), max_iter=40, n_iter_no_change=1000, random_state=3, batch_size=32, shuffle=True
    )
    split = _fit(NumpyNetClassifier, X, y, sample_weight=w, **params)
    with forked.serial():
        serial = _fit(NumpyNetClassifier, X, y, sample_weight=w, **params)
    _assert_same_training(split, serial)
