"""The callback protocol and the built-in callbacks."""

import io
import pickle
import re

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits

from sknn_scratch import NumpyNetClassifier
from sknn_scratch._progress import _duration, _format
from sknn_scratch.callbacks import (
    Callback,
    Checkpoint,
    CSVLogger,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ProgressBar,
    ReduceLROnPlateau,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:600] / 16).astype(np.float32), y[:600]


def _clf(**kw):
    return NumpyNetClassifier(**{"hidden_layer_sizes": (16,), "max_iter": 8, "random_state": 0, **kw})


def halve(epoch, learning_rate):
    return learning_rate / 2


class _Batches(Callback):
    def __init__(self):
        self.seen = []

    def on_batch_end(self, estimator, logs):
        self.seen.append((logs["epoch"], logs["batch"], logs["size"]))


def test_history_records_every_epoch_and_hooks_run_in_order(digits):
    X, y = digits
    history, batches = History(), _Batches()
    est = _clf(early_stopping=True, n_iter_no_change=100, batch_size=128, callbacks=[history, batches]).fit(X, y)
    h = history.history
    assert h["epoch"] == list(range(1, 9)) and h["loss"] == est.loss_curve_
    assert h["validation_score"] == est.validation_scores_ and h["validation_loss"] == est.validation_loss_curve_
    assert all(lr == 1e-3 for lr in h["learning_rate"]) and all(s > 0 for s in h["seconds"])
    n_train = 600 - 60
    assert sum(size for epoch, _, size in batches.seen if epoch == 1) == n_train
    assert [b for e, b, _ in batches.seen if e == 1] == list(range(-(-n_train // 128)))


def test_progress_bar_prints_a_line_per_epoch_with_time_and_eta(digits):
    X, y = digits
    out = io.StringIO()
    _clf(early_stopping=True, n_iter_no_change=100, callbacks=[ProgressBar(file=out)]).fit(X, y)
    lines = out.getvalue().splitlines()
    assert len(lines) == 8
    assert lines[0].startswith("epoch 1/8") and lines[-1].startswith("epoch 8/8")
    for word in ("loss", "val_loss", "val_score", "lr", " s", "ETA"):
        assert word in lines[2]
    out = io.StringIO()
    _clf(solver="lbfgs", max_iter=5, callbacks=ProgressBar(every=2, file=out)).fit(X, y)
    lines = out.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["2/5", "4/5", "5/5"]  # every second, and the last


def test_early_stopping_restores_the_best_epoch_which_the_checkpoint_saved(digits, tmp_path):
    X, y = digits
    path = tmp_path / "best.joblib"
    stopper = EarlyStopping(monitor="validation_loss", patience=3, restore_best=True)
    saver = Checkpoint(path, monitor="validation_loss")
    est = _clf(
        early_stopping=True, n_iter_no_change=1000, max_iter=200, learning_rate_init=0.05, callbacks=[stopper, saver]
    ).fit(X, y)
    best = int(np.argmin(est.validation_loss_curve_)) + 1
    assert stopper.stopped_epoch == best + 3 == est.n_iter_ and saver.saved_epoch == best
    saved = joblib.load(path)
    np.testing.assert_array_equal(saved.predict_proba(X), est.predict_proba(X))
    assert saved.n_iter_ == best


def test_early_stopping_on_the_training_loss_and_with_lbfgs(digits):
    X, y = digits
    stopper = EarlyStopping(monitor="loss", patience=2, min_delta=10.0)  # nothing improves by 10
    est = _clf(max_iter=50, callbacks=stopper).fit(X, y)
    assert est.n_iter_ == 3 and stopper.stopped_epoch == 3
    est = _clf(solver="lbfgs", max_iter=50, callbacks=EarlyStopping(monitor="loss", patience=2, min_delta=10.0))
    assert est.fit(X, y).n_iter_ == 3
    with pytest.raises(ValueError, match="needs validation data"):
        _clf(callbacks=EarlyStopping()).fit(X, y)


def test_learning_rate_callbacks_change_the_optimizer(digits):
    X, y = digits
    history = History()
    est = _clf(max_iter=4, callbacks=[LearningRateScheduler(halve), history]).fit(X, y)
    assert history.history["learning_rate"] == [1e-3, 5e-4, 2.5e-4, 1.25e-4]
    assert est.learning_rate_ == 6.25e-5
    assert est.optimizer_.learning_rate == 6.25e-5  # the optimizer owns it
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0)
    est = _clf(max_iter=5, callbacks=plateau).fit(X, y)
    assert est.learning_rate_ == pytest.approx(1e-3 / 2**4)
    assert _clf(solver="lbfgs", max_iter=3).fit(X, y).learning_rate_ is None


def test_csv_logger_writes_a_row_per_epoch(digits, tmp_path):
    X, y = digits
    path = tmp_path / "log.csv"
    _clf(max_iter=3, callbacks=CSVLogger(path)).fit(X, y)
    rows = path.read_text().splitlines()
    assert rows[0] == "epoch,loss,validation_loss,validation_score,learning_rate,seconds" and len(rows) == 4
    assert rows[1].startswith("1,") and rows[3].startswith("3,")
    _clf(max_iter=2, callbacks=CSVLogger(path, append=True)).fit(X, y)
    assert len(path.read_text().splitlines()) == 6


def test_callbacks_clone_and_pickle_with_the_model(digits, tmp_path):
    X, y = digits
    history = History()
    est = _clf(max_iter=2, callbacks=[history, ProgressBar(file=io.StringIO()), Checkpoint(tmp_path / "c.joblib")])
    twin = clone(est)
    assert twin.callbacks[0] is not history and isinstance(twin.callbacks[0], History)
    est.set_params(callbacks=[history, EarlyStopping(monitor="loss", restore_best=True)]).fit(X, y)
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.callbacks[0].history["loss"] == history.history["loss"]
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_a_plain_function_gets_the_epoch_logs_and_can_stop(digits):
    X, y = digits
    seen = []

    def stop_at_two(est, logs):
        seen.append((logs["iteration"], logs["epoch"], round(logs["loss"], 6) == round(est.loss_, 6)))
        return logs["epoch"] == 2

    est = _clf(callbacks=stop_at_two).fit(X, y)
    assert est.n_iter_ == 2 and seen == [(1, 1, True), (2, 2, True)]


class _EveryEpoch(Callback):
    """Pickles the estimator after every epoch."""

    def __init__(self):
        self.saved = {}

    def on_epoch_end(self, estimator, logs):
        self.saved[logs["epoch"]] = pickle.dumps(estimator)


def test_a_restoring_callback_has_the_last_word_over_mlp_early_stopping(digits):
    X, y = digits
    every = _EveryEpoch()
    stopper = EarlyStopping(monitor="loss", patience=1000, restore_best=True)
    est = _clf(early_stopping=True, n_iter_no_change=1000, max_iter=12, learning_rate_init=0.05)
    est.set_params(callbacks=[stopper, every]).fit(X, y)
    # MLP's rule would restore the best validation score's epoch; the callback restores the lowest loss's
    best_loss = int(np.argmin(est.loss_curve_)) + 1
    assert best_loss != int(np.argmax(est.validation_scores_)) + 1
    np.testing.assert_array_equal(pickle.loads(every.saved[best_loss]).predict_proba(X), est.predict_proba(X))


def test_verbose_true_prints_mlps_lines_and_2_adds_an_epoch_table(digits, capsys):
    X, y = digits
    _clf(max_iter=3, verbose=True, early_stopping=True, n_iter_no_change=100).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Iteration 1, loss = ") and lines[1].startswith("Validation score: ")
    assert not any(line.startswith("epoch") for line in lines)
    # verbose=2 (or more) keeps MLP's lines and adds the table, a line per epoch after them
    _clf(max_iter=3, verbose=2, early_stopping=True, n_iter_no_change=100).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    iterations = [line.split(",")[0] for line in lines if line.startswith("Iteration")]
    assert iterations == ["Iteration 1", "Iteration 2", "Iteration 3"]
    table = [line for line in lines if line.startswith("epoch")]
    assert len(table) == 3 and table[0].startswith("epoch 1/3") and "val_score" in table[0] and "total" in table[2]
    assert lines.index(table[0]) > lines.index(next(line for line in lines if line.startswith("Iteration 1,")))
    assert "ETA" in table[1]
    _clf(solver="lbfgs", max_iter=2, verbose=2).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines if line.startswith("epoch")] == ["1/2", "2/2"]
    assert [line.split(",")[0] for line in lines if line.startswith("Iteration")] == ["Iteration 1", "Iteration 2"]


def test_validation_data_replaces_the_split_for_curves_stopping_and_callbacks(digits):
    from sklearn.metrics import accuracy_score

    X, y = digits
    X_val, y_val = X[500:], y[500:]
    history = History()
    est = _clf(max_iter=5, callbacks=history).fit(X[:500], y[:500], validation_data=(X_val, y_val))
    assert len(est.validation_scores_) == 5 and est.best_loss_ is not None  # curves; MLP's rule on the loss
    assert est.validation_scores_[-1] == accuracy_score(y_val, est.predict(X_val))
    assert history.history["validation_score"] == est.validation_scores_
    assert est.t_ == 5 * 500  # every training row trained (no split)
    stopped = _clf(early_stopping=True, max_iter=200, n_iter_no_change=2, learning_rate_init=0.05)
    stopped.fit(X[:500], y[:500], validation_data=(X_val, y_val, np.ones(100)))
    assert stopped.t_ == stopped.n_iter_ * 500 and stopped.n_iter_ < 200
    best = int(np.argmax(stopped.validation_scores_))
    assert stopped.score(X_val, y_val) == stopped.validation_scores_[best]  # the best epoch's weights
    with pytest.raises(ValueError, match="not in classes_"):
        _clf().fit(X[:500], y[:500] % 5, validation_data=(X_val, y_val))
    with pytest.raises(ValueError, match="validation_data must be a pair"):
        _clf().fit(X, y, validation_data=X_val)
    with pytest.raises(ValueError, match="features"):
        _clf().fit(X, y, validation_data=(X_val[:, :10], y_val))


def test_validation_data_is_routed_through_a_pipeline():
    import sklearn
    from sklearn.pipeline import make_pipeline

    from sknn_scratch import NumpyNetRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, 2.0, -1.0])
    with sklearn.config_context(enable_metadata_routing=True):
        reg = NumpyNetRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
        pipe = make_pipeline(reg.set_fit_request(validation_data=True))
        pipe.fit(X[:150], y[:150], validation_data=(X[150:], y[150:]))
    assert len(pipe[-1].validation_scores_) == 5


def test_lbfgs_refuses_batch_hooks_it_cannot_run(digits):
    X, y = digits
    est = _clf(solver="lbfgs", callbacks=_Batches())
    with pytest.raises(ValueError, match="has no mini-batches"):
        est.fit(X, y)
    assert not hasattr(est, "n_iter_")


def test_a_40_epoch_cnn_prints_a_line_per_epoch(digits):
    X, y = digits
    out = io.StringIO()
    layers = [("conv2d", {"out_channels": 4, "kernel_size": 3}), "relu", ("maxpool2d", {"kernel_size": 2})]
    cnn = NumpyNetClassifier(layers=layers, input_shape=(1, 8, 8), max_iter=40, n_iter_no_change=100, random_state=0)
    cnn.set_params(callbacks=ProgressBar(file=out)).fit(X[:300], y[:300])
    lines = out.getvalue().splitlines()
    assert len(lines) == 40 and lines[-1].startswith("epoch 40/40")
    assert all(" s  ETA " in line for line in lines[:-1]) and " s  total " in lines[-1]


# -- found by breaking it --------------------------------------------------------------
class _LowerRate(Callback):
    """Sets the learning rate at the start and after the first batch."""

    def on_fit_begin(self, estimator, logs):
        estimator.optimizer_.learning_rate = 0.5

    def on_batch_end(self, estimator, logs):
        if logs["epoch"] == 1 and logs["batch"] == 0:
            estimator.optimizer_.learning_rate = 0.25


def test_a_learning_rate_set_in_any_hook_reaches_the_optimizer(digits):
    X, y = digits
    history = History()
    est = _clf(max_iter=2, batch_size=100, callbacks=[_LowerRate(), history]).fit(X, y)
    assert history.history["learning_rate"] == [0.25, 0.25] and est.optimizer_.learning_rate == 0.25
    with pytest.raises(AttributeError, match="set estimator.optimizer_.learning_rate"):
        est.learning_rate_ = 0.1
    with pytest.raises(ValueError, match="use learning_rate='constant'"):
        _clf(solver="sgd", learning_rate="invscaling", callbacks=LearningRateScheduler(halve)).fit(X, y)


def test_callback_objects_are_checked_before_training(digits):
    X, y = digits
    with pytest.raises(TypeError, match="instances"):
        _clf(callbacks=[History]).fit(X, y)
    with pytest.raises(ValueError, match="every must be an integer"):
        _clf(callbacks=ProgressBar(every=0)).fit(X, y)
    with pytest.raises(ValueError, match="solver='lbfgs' scores no validation set"):
        _clf(solver="lbfgs").fit(X, y, validation_data=(X, y))


def test_a_cloned_progress_bar_prints_to_the_same_file(digits):
    from sklearn.model_selection import cross_val_score

    X, y = digits
    out = io.StringIO()
    cross_val_score(_clf(max_iter=2, callbacks=ProgressBar(file=out)), X, y, cv=2)
    assert len(out.getvalue().splitlines()) == 4


def test_a_checkpoint_file_goes_on_training_without_the_training_callbacks(digits, tmp_path):
    X, y = digits
    path = tmp_path / "c.joblib"
    est = _clf(max_iter=3, callbacks=[Checkpoint(path, monitor="loss")]).fit(X, y)
    saved = joblib.load(path)
    assert saved.callbacks is None and saved.n_iter_ == 3
    np.testing.assert_array_equal(saved.predict(X), est.predict(X))
    saved.partial_fit(X, y)
    saved.set_params(warm_start=True).fit(X, y, validation_data=(X, y))


def test_warm_starts_keep_the_validation_curves_of_the_last_epochs_that_had_them(digits):
    plt = pytest.importorskip("matplotlib.pyplot")
    from sknn_scratch.plotting import LossCurveDisplay

    X, y = digits
    est = _clf(max_iter=3, warm_start=True)
    est.fit(X, y, validation_data=(X, y))
    est.fit(X, y)
    est.partial_fit(X, y)
    assert len(est.loss_curve_) == 7 and len(est.validation_scores_) == 3
    display = LossCurveDisplay.from_estimator(est)
    assert list(display.lines_["validation_score"].get_xdata()) == [5, 6, 7]
    plt.close(display.figure_)


ESTIMATOR_TYPE = "sknn_scratch.estimators.classifier.NumpyNetClassifier"


def _same_settings(loaded, original):
    assert type(loaded) is type(original)
    assert vars(loaded) == vars(original), type(original).__name__


def test_skops_trusts_a_model_with_every_built_in_callback(digits, tmp_path, capsys):
    """The built-in callbacks are saved as plain data: the documented recipe (trust the
    estimator's class only) loads a model trained with them."""
    sio = pytest.importorskip("skops.io")
    X, y = digits
    callbacks = [
        History(),
        ProgressBar(every=2),
        EarlyStopping(monitor="loss", patience=3, min_delta=1e-4, restore_best=True),
        ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0, min_lr=1e-5),
        Checkpoint(tmp_path / "c.joblib", monitor="loss"),
        CSVLogger(str(tmp_path / "log.csv"), append=True),
        Callback(),
    ]
    est = _clf(max_iter=4, callbacks=callbacks).fit(X, y)
    data = sio.dumps(est)
    assert sio.get_untrusted_types(data=data) == [ESTIMATOR_TYPE]
    loaded = sio.loads(data, trusted=[ESTIMATOR_TYPE])
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    for mine, theirs in zip(loaded.callbacks, callbacks, strict=True):
        _same_settings(mine, theirs)
    assert len(loaded.callbacks[0].history["loss"]) == 4 and loaded.callbacks[3]._wait == callbacks[3]._wait
    assert loaded.callbacks[4].path == tmp_path / "c.joblib" and loaded.callbacks[4].saved_epoch == 4
    # and the loaded callbacks work: a new fit logs and saves again
    capsys.readouterr()
    loaded.set_params(max_iter=2).fit(X, y)
    assert "epoch 2/2" in capsys.readouterr().out
    assert len(loaded.callbacks[0].history["loss"]) == 2
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 1 + 4 + 2
    assert joblib.load(tmp_path / "c.joblib").n_iter_ == 2


def test_skops_asks_to_trust_a_learning_rate_schedule_function(digits):
    """A schedule is the user's code: it is saved by reference, and skops lists it."""
    sio = pytest.importorskip("skops.io")
    X, y = digits
    scheduler = LearningRateScheduler(halve)
    est = _clf(max_iter=3, callbacks=[History(), scheduler]).fit(X, y)
    data = sio.dumps(est)
    function = f"{halve.__module__}.{halve.__qualname__}"
    assert sio.get_untrusted_types(data=data) == sorted([ESTIMATOR_TYPE, function])
    loaded = sio.loads(data, trusted=[ESTIMATOR_TYPE, function])
    assert type(loaded.callbacks[1]) is LearningRateScheduler and loaded.callbacks[1].schedule is halve
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_a_progress_bar_with_a_file_stays_the_users_object(digits):
    """Its file is not data: pickling and copying the model keep the callback's own rules
    (a copy prints to the same file, a stream that does not pickle becomes stdout)."""
    import copy
    import sys

    X, y = digits
    sink = io.StringIO()
    est = _clf(max_iter=2, callbacks=[ProgressBar(file=sink), ProgressBar(file=sys.stderr)]).fit(X, y)
    twin = copy.deepcopy(est)
    assert twin.callbacks[0].file is sink
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.callbacks[1].file is None and isinstance(loaded.callbacks[1], ProgressBar)


# -- crash safety of the files the callbacks write -------------------------------------------
def _repository_root():
    import pathlib

    import sknn_scratch

    return pathlib.Path(sknn_scratch.__file__).resolve().parents[1]


def test_a_checkpoint_save_that_fails_keeps_the_previous_checkpoint(digits, tmp_path, monkeypatch):
    """The disk fills up halfway through the second save: the first checkpoint is still
    there, whole and loadable, and no temporary file is left behind."""
    import errno
    import pathlib

    X, y = digits
    path = tmp_path / "c.joblib"
    real_dump, saved = joblib.dump, []

    def dump(value, filename, *args, **kwargs):
        if saved:
            with open(filename, "wb") as fh:
                fh.write(b"\x80\x04partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        result = real_dump(value, filename, *args, **kwargs)
        saved.append(pathlib.Path(filename).read_bytes())
        return result

    monkeypatch.setattr(joblib, "dump", dump)
    with pytest.raises(OSError, match="No space left on device"):
        _clf(max_iter=3, callbacks=Checkpoint(path, monitor="loss", save_best_only=False)).fit(X, y)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.joblib"]
    assert path.read_bytes() == saved[0]
    model = joblib.load(path)
    assert model.n_iter_ == 1
    np.testing.assert_array_equal(model.predict(X), joblib.load(path).predict(X))


def test_checkpoints_and_log_rows_are_flushed_to_disk_before_they_count(digits, tmp_path, monkeypatch):
    """A checkpoint is synced to disk before it replaces the previous one; a log row is
    synced when written."""
    import os

    X, y = digits
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def replace(source, target):
        events.append(("replace", os.path.basename(target)))
        return real_replace(source, target)

    monkeypatch.setattr(os, "fsync", lambda fd: events.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace", replace)
    _clf(max_iter=2, callbacks=Checkpoint(tmp_path / "c.joblib", monitor="loss", save_best_only=False)).fit(X, y)
    replaces = [i for i, e in enumerate(events) if e == ("replace", "c.joblib")]
    assert len(replaces) == 2 and all(events[i - 1] == "fsync" for i in replaces)
    events.clear()
    _clf(max_iter=3, callbacks=CSVLogger(tmp_path / "log.csv")).fit(X, y)
    assert events.count(("replace", "log.csv")) == 1 and events.count("fsync") >= 1 + 3


_KILLED_SAVE = """
import sys, time, warnings
import joblib
import numpy as np
from sknn_scratch import NumpyNetClassifier
from sknn_scratch.callbacks import Checkpoint

warnings.simplefilter("ignore")
real_dump, calls = joblib.dump, []


def slow_dump(value, filename, *args, **kwargs):
    calls.append(filename)
    if len(calls) == 2:  # a slow disk: the first bytes of the second save, then a long wait
        with open(filename, "wb") as fh:
            fh.write(b"\\x80\\x04")
            fh.flush()
            print("saving", flush=True)
            time.sleep(300)
    return real_dump(value, filename, *args, **kwargs)


joblib.dump = slow_dump
rng = np.random.default_rng(0)
X = rng.random((240, 64))
y = (X[:, :3].sum(axis=1) * 1.2).astype(int)
saver = Checkpoint(sys.argv[1], monitor="loss", save_best_only=False)
NumpyNetClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0, callbacks=saver).fit(X, y)
"""


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGKILL"), reason="needs SIGKILL")
def test_a_process_killed_while_saving_a_checkpoint_leaves_the_previous_one(tmp_path):
    import signal
    import subprocess
    import sys

    path = tmp_path / "c.joblib"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_SAVE, str(path)],
        cwd=_repository_root(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()  # "" if the process ended without reaching the second save
        assert line.strip() == "saving", proc.stderr.read()[-2000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    model = joblib.load(path)
    assert model.n_iter_ == 1
    model.predict(np.zeros((2, 64)))


_FULL_DISK_LOG = """
import resource, signal, sys, warnings
import numpy as np
from sknn_scratch import NumpyNetClassifier
from sknn_scratch.callbacks import CSVLogger

warnings.simplefilter("ignore")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the size limit fails with EFBIG
new_log, old_log = sys.argv[1], sys.argv[2]
header = len("epoch,loss,validation_loss,validation_score,learning_rate,seconds\\r\\n")
rng = np.random.default_rng(0)
X = rng.random((240, 64))
y = (X[:, :3].sum(axis=1) * 1.2).astype(int)
hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
for path, limit in [(new_log, header + 10), (old_log, 20)]:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        NumpyNetClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0, callbacks=CSVLogger(path)).fit(X, y)
    except OSError as exc:
        print(exc.errno, flush=True)
"""


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGXFSZ"), reason="needs POSIX file size limits")
def test_a_full_disk_never_leaves_a_half_row_or_destroys_the_previous_log(tmp_path):
    """Writes fail past a file size limit, as on a full disk: the first row does not fit
    (the log keeps its header and no half row), and a new header does not fit (the
    previous run's log stays as it was)."""
    import errno
    import subprocess
    import sys

    new_log, old_log = tmp_path / "new.csv", tmp_path / "old.csv"
    previous = "epoch,loss,validation_loss,validation_score,learning_rate,seconds\r\n1,2.5,,,0.001,0.01\r\n"
    old_log.write_bytes(previous.encode())
    result = subprocess.run(
        [sys.executable, "-c", _FULL_DISK_LOG, str(new_log), str(old_log)],
        cwd=_repository_root(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.stdout.split() == [str(errno.EFBIG)] * 2, result.stderr[-2000:]
    assert new_log.read_bytes() == b"epoch,loss,validation_loss,validation_score,learning_rate,seconds\r\n"
    assert old_log.read_bytes() == previous.encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv", "old.csv"]


def test_a_row_torn_by_a_crash_is_dropped_when_the_log_goes_on(digits, tmp_path):
    """A crash (a power cut) left half a row at the end of the log: appending to it
    gives a log whose rows are all whole."""
    import csv

    X, y = digits
    path = tmp_path / "log.csv"
    path.write_bytes(
        b"epoch,loss,validation_loss,validation_score,learning_rate,seconds\r\n1,2.5,,,0.001,0.01\r\n2,2.4"
    )
    _clf(max_iter=2, callbacks=CSVLogger(path, append=True)).fit(X, y)
    rows = list(csv.reader(path.read_bytes().decode().splitlines()))
    assert [len(row) for row in rows] == [6] * 4
    assert [row[0] for row in rows] == ["epoch", "1", "1", "2"] and rows[1][1] == "2.5"
    assert path.read_bytes().endswith(b"\r\n")


def test_a_checkpoint_behind_a_symbolic_link_is_written_through_it(digits, tmp_path):
    import os

    X, y = digits
    target, link = tmp_path / "target.joblib", tmp_path / "link.joblib"
    target.write_bytes(b"")
    try:
        os.symlink(target, link)
    except (OSError, NotImplementedError):
        pytest.skip("no symbolic links here")
    _clf(max_iter=2, callbacks=Checkpoint(link, monitor="loss", save_best_only=False)).fit(X, y)
    assert link.is_symlink() and joblib.load(target).n_iter_ == 2


# -- progress rows -----------------------------------------------------------------------
LABELS = {"epoch", "loss", "val_loss", "val_score", "lr", "s", "d", "ETA", "total"}


def _offsets(row):
    """Where every label of a row starts and every number ends: equal on rows that line up."""
    return [m.start() if m.group() in LABELS else m.end() for m in re.finditer(r"\S+", row)]


def _aligned_with_a_total(rows):
    """Every row lines up with the first; the last shows the total time where the others
    show the time left."""
    assert all("ETA" in row and "total" not in row for row in rows[:-1]) and "ETA" not in rows[-1]
    assert all(_offsets(row) == _offsets(rows[0]) for row in rows[:-1]), rows
    last = _offsets(rows[-1].replace("total", "ETA  "))
    assert rows[-1].index("total") == rows[0].index("ETA") and last == _offsets(rows[0])[-len(last) :]


def test_verbose_2_rows_line_up_and_the_last_shows_the_total_time(digits, capsys):
    X, y = digits
    _clf(max_iter=5, verbose=2, early_stopping=True, n_iter_no_change=100).fit(X, y)
    rows = [row for row in capsys.readouterr().out.splitlines() if row.startswith("epoch")]  # beside MLP's lines
    assert [row.split()[1] for row in rows] == ["1/5", "2/5", "3/5", "4/5", "5/5"]
    _aligned_with_a_total(rows)
    assert _offsets(rows[-1].replace("total", "ETA  ")) == _offsets(rows[0])  # a whole row, in the same columns


def test_progress_bar_ends_with_the_total_time_when_training_stops_early(digits):
    X, y = digits
    out = io.StringIO()
    est = _clf(max_iter=50, early_stopping=True, n_iter_no_change=1, tol=0.5, callbacks=ProgressBar(file=out))
    est.fit(X, y)
    rows = out.getvalue().splitlines()
    assert est.n_iter_ < 50 and len(rows) == est.n_iter_ + 1
    assert rows[-2].startswith(f"epoch {est.n_iter_:>2}/50") and rows[-1].lstrip().startswith("total")
    _aligned_with_a_total(rows)  # the total alone, under the column of the time left

    out = io.StringIO()  # the last epoch's row was not printed: it is, with the total time
    est.set_params(callbacks=ProgressBar(every=est.n_iter_ + 1, file=out)).fit(X, y)
    rows = out.getvalue().splitlines()
    assert len(rows) == 1 and rows[0].startswith(f"epoch {est.n_iter_:>2}/50") and "total" in rows[0]


def test_a_partial_fit_row_shows_the_total_time(digits):
    X, y = digits
    out = io.StringIO()
    est = _clf(callbacks=ProgressBar(file=out))
    est.partial_fit(X, y, classes=np.arange(10))
    est.partial_fit(X, y)
    rows = out.getvalue().splitlines()
    assert len(rows) == 2 and all("total" in row and "ETA" not in row for row in rows)


@pytest.mark.parametrize(
    "loss, score, rate",
    [(1e-300, -1e300, 1e-100), (-123456789.0, 0.5, 3.5e-5), (float("nan"), float("inf"), 1e9), (0.0, -0.0001, 1.0)],
)
def test_progress_columns_keep_their_width_whatever_the_values(loss, score, rate):
    ordinary = {"epoch": 3, "max_iter": 100, "loss": 2.302585, "validation_loss": 2.2, "validation_score": 0.95}
    ordinary.update(learning_rate=0.001, seconds=0.05)
    extreme = {**ordinary, "loss": loss, "validation_loss": loss, "validation_score": score}
    extreme.update(learning_rate=rate, seconds=12345.678)
    assert _offsets(_format(extreme, 1e7)) == _offsets(_format(ordinary, 0.5))


@pytest.mark.parametrize(
    "seconds, text",
    [(0.04, "0.0 s"), (12.34, "12.3 s"), (59.94, "59.9 s"), (59.96, "1:00"), (3599.4, "59:59"), (3600, "1:00:00"),
     (86399, "23:59:59"), (3 * 86400, "3.0 d"), (9999 * 86400, "9999.0 d")],
)  # fmt: skip
def test_durations_fit_in_8_characters(seconds, text):
    assert _duration(seconds) == text and len(text) <= 8


def test_every_callback_is_named_by_its_public_module():
    """Error messages, the API page and pickles (a ProgressBar printing to a file object is
    pickled by reference) name sknn_scratch.callbacks, where every callback is imported from."""
    import sknn_scratch.callbacks as callbacks

    assert {getattr(callbacks, name).__module__ for name in callbacks.__all__} == {"sknn_scratch.callbacks"}
    data = pickle.dumps(ProgressBar(file=io.StringIO()), protocol=2)
    assert b"sknn_scratch.callbacks\nProgressBar\n" in data
    assert isinstance(pickle.loads(data), ProgressBar)
