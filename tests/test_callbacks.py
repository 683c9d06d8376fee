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
from sknn_scratch.callbacks import (
    Callback,
    Checkpoint,
    CSVLogger,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ProgressBar,
    ReduceLROnPlateau,
    _duration,
    _format,
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
    assert est._optimizer_state["learning_rate"] == 6.25e-5  # the optimizer used it
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


def test_verbose_true_prints_mlps_lines_and_2_an_epoch_table(digits, capsys):
    X, y = digits
    _clf(max_iter=3, verbose=True, early_stopping=True, n_iter_no_change=100).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Iteration 1, loss = ") and lines[1].startswith("Validation score: ")
    _clf(max_iter=3, verbose=2, early_stopping=True, n_iter_no_change=100).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch 1/3") and "val_score" in lines[0] and "ETA" in lines[1]
    assert "total" in lines[2]
    _clf(solver="lbfgs", max_iter=2, verbose=2).fit(X, y)
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()] == ["1/2", "2/2"]


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
        estimator.learning_rate_ = 0.5

    def on_batch_end(self, estimator, logs):
        if logs["epoch"] == 1 and logs["batch"] == 0:
            estimator.learning_rate_ = 0.25


def test_a_learning_rate_set_in_any_hook_reaches_the_optimizer(digits):
    X, y = digits
    history = History()
    est = _clf(max_iter=2, batch_size=100, callbacks=[_LowerRate(), history]).fit(X, y)
    assert history.history["learning_rate"] == [0.25, 0.25] and est._optimizer_state["learning_rate"] == 0.25
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
    rows = capsys.readouterr().out.splitlines()
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
