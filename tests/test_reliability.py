"""The estimators' reliability contract: nothing hangs, prediction only reads the model
and is thread-safe, training is atomic, persistence is clean and complete, parameters
are validated as MLP validates them, and results are reproducible."""

import copy
import io
import multiprocessing
import os
import pickle
import subprocess
import sys
import threading
import warnings

import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.neural_network import MLPClassifier
from sklearn.utils.validation import check_is_fitted

from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor
from sknn_scratch.nn import Module

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

CNN_LAYERS = [
    ("conv2d", {"out_channels": 4, "kernel_size": 3}),
    "batchnorm",
    "relu",
    ("maxpool2d", {"kernel_size": 2}),
    ("dropout", {"p": 0.25}),
    ("linear", {"n_out": 16}),
    "relu",
    ("dropout", {"p": 0.25}),
]


def _data(n=240, n_features=64, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.random((n, n_features)).astype(dtype)
    y = (X[:, :3].sum(axis=1) * 1.2).astype(int)  # 4 classes
    return X, y


def _dense(**kw):
    return NumpyNetClassifier(**{"hidden_layer_sizes": (16,), "max_iter": 5, "random_state": 0, **kw})


def _cnn(**kw):
    return NumpyNetClassifier(
        **{"layers": CNN_LAYERS, "input_shape": (1, 8, 8), "max_iter": 3, "random_state": 0, **kw}
    )


MODELS = {"dense": _dense, "cnn": _cnn}


def assert_same_state(before, after, where="estimator"):
    """Everything reachable from two states is equal: arrays bit for bit with their
    dtype, generators by their state, objects attribute by attribute."""
    if isinstance(before, np.ndarray):
        assert isinstance(after, np.ndarray) and before.dtype == after.dtype, where
        assert before.shape == after.shape and np.array_equal(before, after, equal_nan=True), where
    elif isinstance(before, np.random.Generator):
        assert_same_state(before.bit_generator.state, after.bit_generator.state, where)
    elif isinstance(before, dict):
        assert before.keys() == after.keys(), f"{where}: {set(before) ^ set(after)}"
        for key in before:
            assert_same_state(before[key], after[key], f"{where}.{key}")
    elif isinstance(before, (list, tuple)):
        assert type(before) is type(after) and len(before) == len(after), where
        for i, (a, b) in enumerate(zip(before, after, strict=True)):
            assert_same_state(a, b, f"{where}[{i}]")
    elif hasattr(before, "__dict__") and not callable(before):
        assert type(before) is type(after), where
        assert_same_state(vars(before), vars(after), f"{where}<{type(before).__name__}>")
    elif isinstance(before, float) and np.isnan(before):
        assert np.isnan(after), where
    else:
        assert before == after, f"{where}: {before!r} != {after!r}"


def snapshot(est):
    return copy.deepcopy(est.__dict__)


# -- 1. nothing hangs --------------------------------------------------------------------
_BUSY_BLAS_SCRIPT = """
import threading, warnings
import numpy as np
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits
from sknn_scratch import NumpyNetClassifier
warnings.simplefilter("ignore")
X = np.random.default_rng(0).random((4000, 784), dtype=np.float32)
y = X[:, :10].argmax(1)

stop = threading.Event()

def busy():
    a = np.random.default_rng(1).random((300, 300))
    while not stop.is_set():
        a = np.tanh(a @ a.T / 300)

background = threading.Thread(target=busy, daemon=True)
background.start()
for k in range(4):
    clf = NumpyNetClassifier(hidden_layer_sizes=(256, 128), batch_size=128, max_iter=1, random_state=k).fit(X, y)
    clf.predict_proba(X[:500])
    clf.partial_fit(X[:1000], y[:1000])
    clf.score(X[:500], y[:500])
cnn = NumpyNetClassifier(layers=[("conv2d", {"out_channels": 4, "kernel_size": 3}), "relu"],
                         input_shape=(1, 28, 28), max_iter=1, random_state=0).fit(X[:500], y[:500])
cnn.predict(X[:200])

def worker():
    NumpyNetClassifier(hidden_layer_sizes=(32,), max_iter=2, random_state=0).fit(X[:1000], y[:1000]).predict(X)

t = threading.Thread(target=worker)
t.start()
t.join()
with threadpool_limits(1):
    NumpyNetClassifier(hidden_layer_sizes=(32,), max_iter=2, random_state=0).fit(X[:1000], y[:1000]).predict(X)

print("busy thread: done", flush=True)
# a process forked while another thread is inside BLAS may inherit its locks held
# (joblib's multiprocessing backend forks): the joblib part runs without that thread
stop.set()
background.join()

def fit_score(seed):
    clf = NumpyNetClassifier(hidden_layer_sizes=(32,), max_iter=2, random_state=seed).fit(X[:1000], y[:1000])
    return clf.score(X[1000:2000], y[1000:2000])

for backend in ("loky", "threading", "multiprocessing"):
    scores = Parallel(n_jobs=2, backend=backend)(delayed(fit_score)(seed) for seed in range(4))
    assert len(scores) == 4 and all(0 <= s <= 1 for s in scores), (backend, scores)
    print(backend, "done", flush=True)
print("done")
"""


@pytest.mark.slow
def test_nothing_hangs_with_busy_blas_threads_worker_threads_joblib_and_thread_limits():
    """fit, partial_fit, predict and score with another thread busy in BLAS, from a
    worker thread, inside threadpoolctl limits and under each joblib backend."""
    result = subprocess.run(
        [sys.executable, "-c", _BUSY_BLAS_SCRIPT], capture_output=True, text=True, timeout=240, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("done")


def test_the_library_starts_no_thread_or_process(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the library started a thread or a process")

    monkeypatch.setattr(os, "fork", refuse)
    monkeypatch.setattr(multiprocessing.Process, "start", refuse)
    monkeypatch.setattr(threading.Thread, "start", refuse)
    X, y = _data()
    for est in (_cnn(), _dense(), _dense(solver="lbfgs"), _dense(early_stopping=True)):
        est.fit(X, y).predict(X)
        if est.solver != "lbfgs" and not est.early_stopping:
            est.partial_fit(X, y)


# -- 2. prediction only reads the model ----------------------------------------------------
@pytest.mark.parametrize("model", ["dense", "cnn"])
@pytest.mark.parametrize("fit_dtype", [np.float64, np.float32])
def test_prediction_changes_nothing_and_computes_in_the_model_dtype(model, fit_dtype):
    X, y = _data(dtype=fit_dtype)
    est = MODELS[model]().fit(X, y)
    other = np.float32 if fit_dtype == np.float64 else np.float64
    expected = est.predict_proba(X)
    before = snapshot(est)
    for data in (X, X.astype(other), X[:1], X[:7].astype(other)):
        est.predict(data)
        proba = est.predict_proba(data)
        assert proba.dtype == fit_dtype
        est.predict_log_proba(data)
        est.score(data, y[: len(data)])
    assert_same_state(before, est.__dict__)
    # the other dtype's rows are converted to the model's dtype: same as converting them first
    np.testing.assert_array_equal(
        est.predict_proba(X.astype(other)), est.predict_proba(X.astype(other).astype(fit_dtype))
    )
    np.testing.assert_array_equal(est.predict_proba(X), expected)


def test_float64_model_stays_float64_after_float32_partial_fit_and_warm_start():
    X, y = _data()
    est = _dense(warm_start=True).fit(X, y)
    est.partial_fit(X.astype(np.float32), y)
    est.fit(X.astype(np.float32), y)
    assert all(c.dtype == np.float64 for c in est.coefs_)
    assert est.predict_proba(X.astype(np.float32)).dtype == np.float64


# -- 3. prediction is thread-safe -----------------------------------------------------------
@pytest.mark.parametrize("model", ["dense", "cnn"])
def test_concurrent_prediction_returns_the_single_thread_results(model):
    X, y = _data(n=600)
    est = MODELS[model]().fit(X, y)
    sizes = [1, 5, 64, 300, 600]
    expected = {n: est.predict_proba(X[:n]) for n in sizes}
    failures = []
    barrier = threading.Barrier(6)

    def hammer(k):
        barrier.wait()
        for i in range(30):
            n = sizes[(i + k) % len(sizes)]
            if not np.array_equal(est.predict_proba(X[:n]), expected[n]):
                failures.append((k, i, n))

    threads = [threading.Thread(target=hammer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert failures == []


# -- 4. training is atomic ------------------------------------------------------------------
class _Trap(Module):
    """An identity layer that, once armed, raises (``mode="raise"``) or outputs NaN
    (``mode="nan"``) on its ``fail_at``-th training forward pass."""

    calls, fail_at, mode = 0, 0, "raise"

    @classmethod
    def arm(cls, fail_at=0, mode="raise"):
        cls.calls, cls.fail_at, cls.mode = 0, fail_at, mode

    def updateOutput(self, input):
        self.output = input
        if self.training:
            type(self).calls += 1
            if type(self).calls == type(self).fail_at:
                if type(self).mode == "raise":
                    raise RuntimeError("layer failure")
                self.output = input * np.nan
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput
        return gradOutput


TRAPPED = {
    "dense": lambda: NumpyNetClassifier(
        layers=[("linear", {"n_out": 16}), "relu", _Trap()], max_iter=5, random_state=0
    ),
    "cnn": lambda: _cnn(layers=[*CNN_LAYERS, _Trap()]),
}


def _raise_at_epoch(n, exc):
    def callback(est, info):
        if info["iteration"] == n:
            raise exc

    return callback


def _failures():
    """(name, build, failing call) triples: the call raises after training began."""
    X, y = _data()

    def diverge_partial(est):
        _Trap.arm(2, "nan")
        est.partial_fit(X, y)

    def diverge_warm(est):
        _Trap.arm(5, "nan")
        est.set_params(warm_start=True)
        est.fit(X, y)

    def fail_in_layer(est):
        _Trap.arm(4, "raise")
        est.set_params(warm_start=True)
        est.fit(X, y)

    def callback_warm(est):
        est.set_params(warm_start=True, max_iter=6, callbacks=[_raise_at_epoch(3, RuntimeError("callback"))])
        est.fit(X, y)

    def callback_partial(est):
        est.set_params(callbacks=_raise_at_epoch(1, RuntimeError("callback")))
        est.partial_fit(X, y)

    def bad_width(est):
        est.partial_fit(X[:, :10], y)

    def new_class(est):
        est.partial_fit(X, y + 10)

    return {
        "diverging partial_fit": diverge_partial,
        "diverging warm start": diverge_warm,
        "layer raising in a warm start": fail_in_layer,
        "callback raising in a warm start": callback_warm,
        "callback raising in partial_fit": callback_partial,
        "wrong number of features": bad_width,
        "unknown class": new_class,
    }


@pytest.mark.parametrize("model", ["dense", "cnn"])
@pytest.mark.parametrize("failure", list(_failures()))
def test_a_failing_pass_leaves_the_fitted_model_bit_identical(model, failure):
    X, y = _data()
    _Trap.arm()
    est = TRAPPED[model]().fit(X, y)
    est.partial_fit(X, y)  # optimizer state and curves from more than one call
    before = snapshot(est)
    proba = est.predict_proba(X)
    params = est.get_params()
    with pytest.raises((ValueError, RuntimeError)) as info:
        _failures()[failure](est)
    if "diverging" in failure:
        assert "non-finite parameter weights" in str(info.value)
    est.set_params(**params)
    _Trap.arm()
    assert_same_state(before, est.__dict__)
    np.testing.assert_array_equal(est.predict_proba(X), proba)
    assert all(np.isfinite(c).all() for c in est.coefs_)


@pytest.mark.parametrize("mode", ["raise", "nan"])
def test_a_first_fit_that_fails_leaves_the_estimator_unfitted(mode):
    X, y = _data()
    _Trap.arm(7, mode)
    est = TRAPPED["dense"]()
    with pytest.raises((RuntimeError, ValueError)):
        est.fit(X, y)
    _Trap.arm()
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    assert not any(key.endswith("_") and not key.startswith("_") for key in vars(est))
    assert not hasattr(est, "network_")


# inputs of 1e200 overflow on purpose: numpy says so on the way to the error under test
@pytest.mark.filterwarnings(
    "ignore:overflow encountered:RuntimeWarning", "ignore:invalid value encountered:RuntimeWarning"
)
def test_unfitted_estimator_stays_unfitted_after_divergence():
    X, y = _data()
    est = NumpyNetClassifier(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=1e100, max_iter=5)
    with pytest.raises(ValueError, match="non-finite parameter weights"):
        est.fit(X * 1e200, y)
    assert not any(key.endswith("_") and not key.startswith("_") for key in vars(est))


def test_keyboard_interrupt_warns_and_keeps_what_was_trained():
    X, y = _data()
    est = _dense(max_iter=10, callbacks=_raise_at_epoch(3, KeyboardInterrupt()))
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        est.fit(X, y)
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3
    assert all(np.isfinite(c).all() for c in est.coefs_)
    est.predict(X)


# -- 5. persistence -----------------------------------------------------------------------
def _round_trips(est, tmp_path):
    yield "pickle", pickle.loads(pickle.dumps(est))
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    yield "joblib", joblib.load(path)
    yield "joblib mmap", joblib.load(path, mmap_mode="r")


@pytest.mark.parametrize("model", ["dense", "cnn"])
def test_round_trips_predict_bit_identically_and_keep_training(model, tmp_path):
    X, y = _data()
    est = MODELS[model]().fit(X, y)
    for stage in ("after fit", "after predict"):
        if stage == "after predict":
            est.predict(X)
        expected = est.predict_proba(X)
        for how, loaded in _round_trips(est, tmp_path):
            np.testing.assert_array_equal(loaded.predict_proba(X), expected, err_msg=f"{how} {stage}")
            before = snapshot(loaded)
            again = copy.deepcopy(loaded)
            again.partial_fit(X, y)
            again.set_params(warm_start=True).fit(X, y)
            assert again.n_iter_ > 0
            assert_same_state(before, loaded.__dict__)  # training a copy left the loaded model alone
            # a loaded model trains exactly as the original does
            original = copy.deepcopy(est)
            loaded.partial_fit(X, y)
            original.partial_fit(X, y)
            np.testing.assert_array_equal(loaded.predict_proba(X), original.predict_proba(X), err_msg=how)


@pytest.mark.parametrize("model", ["dense", "cnn"])
def test_pickle_size_does_not_depend_on_what_was_predicted(model):
    X, y = _data()
    est = MODELS[model]().fit(X, y)
    size = len(pickle.dumps(est))
    est.predict_proba(np.random.default_rng(1).random((5000, 64)))
    assert len(pickle.dumps(est)) == size
    n_params = sum(p.size for m in est.network_.modules for p in m.getParameters())
    # parameters and Adam's two moments, in float64, plus a few kilobytes of settings
    assert size < 3 * 8 * n_params + 20_000


@pytest.mark.parametrize("model", ["dense", "cnn"])
def test_skops_trusts_everything_but_the_estimator_class(model):
    sio = pytest.importorskip("skops.io")
    X, y = _data()
    est = MODELS[model]().fit(X, y)
    data = sio.dumps(est)
    assert sio.get_untrusted_types(data=data) == ["sknn_scratch.estimators.classifier.NumpyNetClassifier"]
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    loaded.partial_fit(X, y)
    reg = NumpyNetRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, X[:, 0])
    assert sio.get_untrusted_types(data=sio.dumps(reg)) == ["sknn_scratch.estimators.regressor.NumpyNetRegressor"]


def test_joblib_compressed_file_object_round_trip():
    X, y = _data()
    est = _cnn().fit(X, y)
    buffer = io.BytesIO()
    joblib.dump(est, buffer, compress=3)
    buffer.seek(0)
    np.testing.assert_array_equal(joblib.load(buffer).predict(X), est.predict(X))


# -- 6. parameters validated as MLP validates them -----------------------------------------
@pytest.mark.parametrize(
    "sizes, error", [((2.5,), TypeError), ((8, 2.0), TypeError), ((0,), ValueError), ((4, -1), ValueError)]
)
def test_hidden_layer_sizes_rejected_like_mlp(sizes, error):
    X, y = _data(n=40)
    with pytest.raises(error):
        MLPClassifier(hidden_layer_sizes=sizes, max_iter=2).fit(X, y)
    with pytest.raises(error, match="hidden_layer_sizes"):
        NumpyNetClassifier(hidden_layer_sizes=sizes, max_iter=2).fit(X, y)


def test_a_random_state_instance_is_consumed_as_mlp_consumes_it():
    X, y = _data(n=60)
    state = np.random.RandomState(0)
    first = _dense(random_state=state).fit(X, y).coefs_[0].copy()
    second = _dense(random_state=state).fit(X, y).coefs_[0]
    assert not np.array_equal(first, second)
    # the first fit on a fresh instance draws what an int seed draws
    np.testing.assert_array_equal(first, _dense(random_state=0).fit(X, y).coefs_[0])
    # and the instance moved on as far as MLP's draws move it
    theirs, ours = np.random.RandomState(3), np.random.RandomState(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier(hidden_layer_sizes=(16,), max_iter=1, shuffle=False, random_state=theirs).fit(X, y)
    NumpyNetClassifier(hidden_layer_sizes=(16,), max_iter=1, shuffle=False, random_state=ours).fit(X, y)
    assert theirs.randint(10**9) == ours.randint(10**9)


# -- 7. reproducible ------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["dense", "cnn"])
def test_same_random_state_gives_bit_identical_models(model):
    X, y = _data()
    a, b = MODELS[model]().fit(X, y), MODELS[model]().fit(X, y)
    assert_same_state(pickle.loads(pickle.dumps(a)).network_, pickle.loads(pickle.dumps(b)).network_)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.loss_curve_ == b.loss_curve_


# -- found by breaking it --------------------------------------------------------------
def test_a_loaded_early_stopping_model_refits_and_a_failed_refit_changes_nothing(tmp_path):
    X, y = _data()
    est = _dense(early_stopping=True).fit(X, y)
    joblib.dump(est, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib", mmap_mode="r")
    before = snapshot(loaded)
    loaded.set_params(random_state=5, callbacks=_raise_at_epoch(3, RuntimeError("callback")))
    with pytest.raises(RuntimeError, match="callback"):
        loaded.fit(X, y)
    loaded.set_params(random_state=0, callbacks=None)
    assert_same_state(before, loaded.__dict__)
    loaded.fit(X, y)  # a new fit on a read-only model
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_a_diverging_new_fit_with_early_stopping_raises_instead_of_restoring_old_weights():
    X, y = _data()
    _Trap.arm()
    est = TRAPPED["dense"]().set_params(early_stopping=True).fit(X, y)
    before = snapshot(est)
    _Trap.arm(1, "nan")  # the first batch of the new fit
    with pytest.raises(ValueError, match="non-finite parameter weights"):
        est.set_params(random_state=1).fit(X, y)
    _Trap.arm()
    est.set_params(random_state=0)
    assert_same_state(before, est.__dict__)


def test_predicting_while_another_thread_fits_sees_a_whole_model():
    X, y = _data(n=300)
    est = _dense().fit(X, y)
    old = est.predict_proba(X[:50])
    new = _dense().fit(X[:200], y[:200]).predict_proba(X[:50])
    errors, seen = [], set()
    stop = threading.Event()

    def predict():
        while not stop.is_set():
            try:
                proba = est.predict_proba(X[:50])
                seen.add("old" if np.array_equal(proba, old) else "new" if np.array_equal(proba, new) else "other")
            except Exception as exc:  # noqa: BLE001 - any error is the defect
                errors.append(repr(exc))

    threads = [threading.Thread(target=predict) for _ in range(3)]
    for t in threads:
        t.start()
    for _ in range(3):
        est.fit(X[:200], y[:200])
        est.fit(X, y)
    est.fit(X[:200], y[:200])
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and seen <= {"old", "new"}


@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_random_state_is_drawn_from_as_mlp_draws_from_it(early_stopping):
    # (multiclass early stopping draws differently: its validation split is stratified)
    X, y = _data(n=120)
    y = (y > 1).astype(int)
    theirs, ours = np.random.RandomState(3), np.random.RandomState(3)
    params = dict(hidden_layer_sizes=(16,), max_iter=2, early_stopping=early_stopping, n_iter_no_change=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier(**params, random_state=theirs).fit(X, y)
    NumpyNetClassifier(**params, random_state=ours).fit(X, y)
    assert theirs.randint(10**9) == ours.randint(10**9)


# inputs of 1e200 overflow on purpose: numpy says so on the way to the error under test
@pytest.mark.filterwarnings(
    "ignore:overflow encountered:RuntimeWarning", "ignore:invalid value encountered:RuntimeWarning"
)
def test_more_parameter_and_state_checks_than_mlp():
    X, y = _data()
    with pytest.raises(ValueError, match="validation_fraction=0.0"):
        _dense(early_stopping=True, validation_fraction=0.0).fit(X, y)
    with pytest.raises(ValueError, match="non-finite"):  # batch-norm statistics overflow
        NumpyNetClassifier(hidden_layer_sizes=(8,), batch_norm=True, max_iter=2).fit(X * 1e200, y)
    # a warm start may change the solver or early stopping
    est = _dense(solver="lbfgs").fit(X, y)
    est.set_params(warm_start=True, solver="adam").fit(X, y)
    assert len(est.loss_curve_) == est.n_iter_
    est.set_params(early_stopping=True).fit(X, y)
    assert len(est.validation_scores_) == est.n_iter_
    est.set_params(early_stopping=False).fit(X, y)
    assert est.best_loss_ is not None


class _Checkpoints:
    """A callback that pickles the estimator after every epoch."""

    def __init__(self):
        self.saved = {}

    def __call__(self, est, info):
        self.saved[info["iteration"]] = pickle.dumps(est)


def test_early_stopping_restores_the_batch_norm_statistics_of_the_best_epoch():
    X, y = _data()
    checkpoints = _Checkpoints()
    est = _dense(batch_norm=True, early_stopping=True, n_iter_no_change=3, max_iter=40, learning_rate_init=0.05)
    est.set_params(callbacks=checkpoints).fit(X, y)
    best = pickle.loads(checkpoints.saved[int(np.argmax(est.validation_scores_)) + 1])
    assert est.n_iter_ > int(np.argmax(est.validation_scores_)) + 1  # later epochs were trained, then undone
    np.testing.assert_array_equal(est.predict_proba(X), best.predict_proba(X))


def test_a_checkpoint_taken_in_a_callback_resumes_like_the_model():
    X, y = _data()
    checkpoints = _Checkpoints()
    est = _dense(max_iter=2, callbacks=checkpoints).fit(X, y)
    resumed = pickle.loads(checkpoints.saved[2]).set_params(callbacks=None)
    est.set_params(callbacks=None)
    np.testing.assert_array_equal(resumed.partial_fit(X, y).predict_proba(X), est.partial_fit(X, y).predict_proba(X))


def test_partial_fit_after_a_change_of_solver_starts_that_solver_anew():
    X, y = _data()
    for first, second in (("adam", "sgd"), ("sgd", "adam")):
        est = _dense(solver=first).fit(X, y)
        est.set_params(solver=second).partial_fit(X, y)
        assert type(est.optimizer_).__name__.lower() == second


def test_a_warm_start_with_another_architecture_is_an_error():
    X, y = _data()
    est = _dense().fit(X, y)
    before = snapshot(est)
    for change in (dict(hidden_layer_sizes=(7, 3)), dict(activation="tanh"), dict(batch_norm=True)):
        with pytest.raises(ValueError, match="continue training the fitted network"):
            est.set_params(warm_start=True, **change).fit(X, y)
        with pytest.raises(ValueError, match="continue training the fitted network"):
            est.partial_fit(X, y)
        est.set_params(**{k: _dense().get_params()[k] for k in change})
    est.set_params(warm_start=False)
    assert_same_state(before, est.__dict__)


def test_a_container_given_in_layers_is_initialised_from_random_state():
    from sknn_scratch.nn import Linear, ReLU, Sequential

    X, y = _data()
    block = Sequential(Linear(64, 8, rng=0), ReLU())
    first = _dense(layers=[block, "tanh"], random_state=0).fit(X, y).coefs_[0]
    second = _dense(layers=[block, "tanh"], random_state=1).fit(X, y).coefs_[0]
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(block[0].W, Linear(64, 8, rng=0).W)  # the user's instance is untouched


def test_callbacks_must_be_callable():
    X, y = _data()
    with pytest.raises(TypeError, match="callbacks must be Callback objects"):
        _dense(callbacks=[1]).fit(X, y)


def test_predict_log_proba_shows_numpy_warning_for_zero_probabilities():
    X, y = _data()
    est = _dense().fit(X, y)
    est.intercepts_ = [b * 0 for b in est.intercepts_[:-1]] + [np.array([1e4, 0, 0, 0])]
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        assert np.isneginf(est.predict_log_proba(X)).any()
