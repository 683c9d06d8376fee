"""When training stops: validation sets for the callbacks, which stopping rule decides,
ReduceLROnPlateau's cooldown and floor, and which stops warn.

The rules are written in one place, docs/callbacks.md ("When training stops").
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor
from sknn_scratch.callbacks import Callback, Checkpoint, EarlyStopping, History, ReduceLROnPlateau

X_ALL, Y_ALL = load_digits(return_X_y=True)
X_ALL = (X_ALL / 16).astype(np.float32)
X, Y = X_ALL[:500], Y_ALL[:500]
X_VAL, Y_VAL = X_ALL[500:700], Y_ALL[500:700]


def _clf(**kw):
    return NumpyNetClassifier(**{"hidden_layer_sizes": (16,), "max_iter": 100, "random_state": 0, **kw})


class _Epochs(Callback):
    """Counts the epochs it saw end."""

    def __init__(self):
        self.ended = 0

    def on_epoch_end(self, estimator, logs):
        self.ended += 1


def _no_convergence_warning(fit):
    """Run ``fit()`` with ConvergenceWarning as an error; return its result."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return fit()


# -- a validation set given to fit is all that validation callbacks need ----------------------------


@pytest.mark.parametrize("spelling", ["X_val", "validation_data"])
@pytest.mark.parametrize("monitor", ["validation_loss", "validation_score"])
def test_a_validation_set_given_to_fit_feeds_the_validation_callbacks(spelling, monitor):
    history = History()
    stopper = EarlyStopping(monitor=monitor, patience=2, min_delta=10.0)  # nothing improves by 10: stops at 3
    given = {"X_val": X_VAL, "y_val": Y_VAL} if spelling == "X_val" else {"validation_data": (X_VAL, Y_VAL)}
    est = _clf(callbacks=[stopper, history]).fit(X, Y, **given)
    assert not est.early_stopping and est.n_iter_ == stopper.stopped_epoch == 3
    assert history.history[monitor] == (
        est.validation_loss_curve_ if monitor == "validation_loss" else est.validation_scores_
    )
    assert est.t_ == 3 * len(X)  # no row held out: the validation set is the one given


@pytest.mark.parametrize(
    "callback",
    [
        EarlyStopping(),
        EarlyStopping(monitor="validation_score"),
        ReduceLROnPlateau(monitor="validation_loss"),
        Checkpoint("never-written.joblib", monitor="validation_score"),
    ],
    ids=repr,
)
def test_a_validation_callback_without_validation_set_fails_before_training_and_names_every_way(callback, tmp_path):
    if isinstance(callback, Checkpoint):
        callback.path = tmp_path / "never-written.joblib"
    epochs = _Epochs()
    est = _clf(callbacks=[callback, epochs])
    with pytest.raises(ValueError, match="needs validation data") as info:
        est.fit(X, Y)
    message = str(info.value)
    for way in ("X_val=X_val, y_val=y_val", "validation_data=(X_val, y_val)", "early_stopping=True"):
        assert way in message, way
    assert epochs.ended == 0  # before the first epoch
    assert not hasattr(est, "n_iter_")  # the estimator is as it was
    # each way works
    est.fit(X, Y, X_val=X_VAL, y_val=Y_VAL)
    est.fit(X, Y, validation_data=(X_VAL, Y_VAL))
    est.set_params(early_stopping=True).fit(X, Y)
    assert epochs.ended > 0


def test_the_missing_validation_errors_of_lbfgs_partial_fit_and_an_empty_split():
    with pytest.raises(ValueError, match="solver='lbfgs' scores no validation set"):
        _clf(solver="lbfgs", callbacks=EarlyStopping()).fit(X, Y)
    with pytest.raises(ValueError, match=r"partial_fit takes no validation set.*X_val=X_val.*validation_data="):
        _clf(callbacks=EarlyStopping()).partial_fit(X, Y, classes=np.arange(10))
    with pytest.raises(ValueError, match=r"validation_fraction=0.0.*X_val=X_val, y_val=y_val.*validation_data="):
        _clf(early_stopping=True, validation_fraction=0.0).fit(X, Y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_validation_set_with_unknown_targets_is_refused(bad):
    # a NaN validation score would leave the best epoch undecided (and the fit silent about it)
    y_val = np.linspace(0, 1, len(X_VAL))
    y_val[7] = bad
    reg = NumpyNetRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    with pytest.raises(ValueError, match=r"y_val holds 1 missing or infinite value.*at row 7"):
        reg.fit(X, np.linspace(0, 1, len(X)), X_val=X_VAL, y_val=y_val)
    labels = Y_VAL.astype(object)
    labels[7] = None
    with pytest.raises(ValueError, match=r"y_val holds 1 missing .*None at row 7"):
        _clf(max_iter=3).fit(X, Y, validation_data=(X_VAL, labels))
    assert not hasattr(reg, "network_")


# -- a stopping callback decides; MLP's rule does not overrule it --------------------------------------


def test_early_stopping_gets_its_patience_whatever_n_iter_no_change_says():
    """The trap: MLP's rule (here: 2 epochs without an improvement of 0.5) used to end the
    fit long before the callback's patience of 15 epochs."""
    rule = dict(early_stopping=True, n_iter_no_change=2, tol=0.5)
    alone = _clf(**rule).fit(X, Y)
    assert alone.n_iter_ <= 4  # MLP's rule alone stops early
    stopper = EarlyStopping(monitor="loss", patience=15, min_delta=10.0)  # stops at epoch 16
    est = _no_convergence_warning(lambda: _clf(**rule, callbacks=stopper).fit(X, Y))
    assert est.n_iter_ == stopper.stopped_epoch == 16
    assert len(est.validation_scores_) == 16  # early_stopping=True still holds out its split
    # without early_stopping, MLP's rule on the training loss gives way too
    est = _no_convergence_warning(lambda: _clf(n_iter_no_change=2, tol=10.0, callbacks=stopper).fit(X, Y))
    assert est.n_iter_ == stopper.stopped_epoch == 16


def test_early_stopping_true_still_restores_its_best_epoch_when_a_callback_stops():
    stopper = EarlyStopping(monitor="loss", patience=6, min_delta=10.0)
    est = _clf(early_stopping=True, learning_rate_init=0.2, callbacks=stopper).fit(X, Y, X_val=X_VAL, y_val=Y_VAL)
    assert est.n_iter_ == stopper.stopped_epoch == 7
    best = int(np.argmax(est.validation_scores_))
    assert est.validation_scores_[-1] < est.validation_scores_[best]  # the last epoch is not the best one
    assert est.score(X_VAL, Y_VAL) == est.validation_scores_[best] == est.best_validation_score_  # restored


def test_callbacks_that_stop_nothing_leave_mlps_rule_on():
    rule = dict(n_iter_no_change=2, tol=10.0)
    alone = _clf(**rule).fit(X, Y)
    assert alone.n_iter_ == 4
    with_callbacks = _clf(**rule, callbacks=[History(), ReduceLROnPlateau(patience=50)]).fit(X, Y)
    assert with_callbacks.n_iter_ == alone.n_iter_
    assert not ReduceLROnPlateau().stops_training and ReduceLROnPlateau(min_lr=1e-6).stops_training
    assert EarlyStopping.stops_training and not History.stops_training


def test_verbose_says_that_the_callback_decides(capsys):
    stopper = EarlyStopping(monitor="loss", patience=4, min_delta=10.0)
    _clf(n_iter_no_change=1, tol=10.0, verbose=True, callbacks=stopper).fit(X, Y)
    out = capsys.readouterr().out
    assert "Training goes on: EarlyStopping decides when to stop." in out
    assert "Stopped by callback EarlyStopping: loss has not improved by more than 10.0 for 4 epochs" in out


class _StopAt(Callback):
    """A user's stopping callback: declares it, and stops at ``epoch``."""

    stops_training = True

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, estimator, logs):
        return logs["epoch"] == self.epoch


def test_a_users_callback_takes_over_by_declaring_stops_training(capsys):
    est = _clf(n_iter_no_change=1, tol=10.0, callbacks=_StopAt(9)).fit(X, Y)
    assert est.n_iter_ == 9
    stopper = EarlyStopping(monitor="loss", patience=20)
    _clf(n_iter_no_change=1, tol=10.0, verbose=True, callbacks=[_StopAt(4), stopper]).fit(X, Y)
    assert "Training goes on: _StopAt and EarlyStopping decide when to stop." in capsys.readouterr().out


# -- a stop asked for is no ConvergenceWarning -----------------------------------------------------


def _stop_at_three(estimator, logs):
    return logs["epoch"] == 3


@pytest.mark.parametrize(
    "solver, callback, epochs",
    [
        ("adam", EarlyStopping(monitor="loss", patience=2, min_delta=10.0), 3),
        ("adam", ReduceLROnPlateau(patience=1, min_delta=10.0, min_lr=1e-3), 2),
        ("adam", _stop_at_three, 3),
        ("adam", _StopAt(100), 100),  # at the last epoch: the stop is asked for, max_iter is not the reason
        ("lbfgs", EarlyStopping(monitor="loss", patience=2, min_delta=10.0), 3),
    ],
    ids=["EarlyStopping", "ReduceLROnPlateau", "function", "at-max_iter", "lbfgs"],
)
def test_a_fit_a_callback_stops_does_not_warn(solver, callback, epochs):
    est = _no_convergence_warning(lambda: _clf(solver=solver, max_iter=100, callbacks=callback).fit(X, Y))
    assert est.n_iter_ == epochs


def test_reaching_max_iter_without_a_stop_still_warns():
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        _clf(max_iter=3, callbacks=EarlyStopping(monitor="loss", patience=50)).fit(X, Y)


# -- ReduceLROnPlateau: Keras's rules, and the stop at min_lr ------------------------------------------


@pytest.mark.parametrize(
    "cooldown, rates",
    [
        (0, [1e-3, 1e-3, 5e-4, 2.5e-4, 1.25e-4, 6.25e-5, 3.125e-5]),  # a reduction after every epoch from the 2nd
        (1, [1e-3, 1e-3, 5e-4, 2.5e-4, 1.25e-4, 6.25e-5, 3.125e-5]),  # Keras's arithmetic: 1 changes nothing
        (2, [1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4, 2.5e-4, 1.25e-4]),  # every 2nd epoch
        (3, [1e-3, 1e-3, 5e-4, 5e-4, 5e-4, 2.5e-4, 2.5e-4]),  # every 3rd epoch
    ],
)
def test_reduce_lr_on_plateau_cooldown_follows_keras(cooldown, rates):
    """Nothing improves by 10, patience 1. Keras's rule: after a reduction each of the
    next ``cooldown`` epochs resets the count of epochs without improvement, and the
    epoch that ends the cooldown counts again, so the next reduction comes
    ``max(cooldown, 1)`` epochs later. (The rates are those of each epoch's steps: a
    reduction at the end of an epoch applies to the next.)"""
    plateau = ReduceLROnPlateau(factor=0.5, patience=1, min_delta=10.0, cooldown=cooldown)
    est = _clf(max_iter=7, callbacks=plateau).fit(X, Y)
    assert est.learning_rate_curve_ == rates


def test_reduce_lr_on_plateau_stops_when_the_rate_is_at_min_lr(capsys):
    """Rates 1e-3 -> 1e-4 -> 1e-5 (min_lr), then two more epochs without improvement and
    the callback ends the fit, before max_iter and after MLP's rule (3 epochs) would have."""
    plateau = ReduceLROnPlateau(factor=0.1, patience=2, min_delta=10.0, min_lr=1e-5)
    est = _no_convergence_warning(
        lambda: _clf(max_iter=100, n_iter_no_change=3, tol=10.0, verbose=True, callbacks=plateau).fit(X, Y)
    )
    assert est.n_iter_ == plateau.stopped_epoch == 7
    np.testing.assert_allclose(est.learning_rate_curve_, [1e-3, 1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5], rtol=1e-12)
    assert plateau.stop_reason.startswith("the learning rate is at min_lr=1e-05 and loss has not improved")
    assert "Stopped by callback ReduceLROnPlateau: the learning rate is at min_lr=1e-05" in capsys.readouterr().out


def test_reduce_lr_on_plateau_never_raises_the_rate_to_min_lr():
    plateau = ReduceLROnPlateau(patience=1, min_delta=10.0, min_lr=1e-3)
    est = _clf(learning_rate_init=1e-4, callbacks=plateau).fit(X, Y)
    assert est.learning_rate_curve_ == [1e-4, 1e-4] and plateau.stopped_epoch == 2


def test_reduce_lr_on_plateau_monitors_a_validation_set_given_to_fit():
    plateau = ReduceLROnPlateau(monitor="validation_score", factor=0.5, patience=1, min_delta=10.0, min_lr=2.5e-4)
    est = _clf(callbacks=plateau).fit(X, Y, X_val=X_VAL, y_val=Y_VAL)
    assert est.learning_rate_curve_ == [1e-3, 1e-3, 5e-4, 2.5e-4] and plateau.stopped_epoch == 4


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(factor=1.0), "factor must be a number in \\(0, 1\\)"),
        (dict(factor=0.0), "factor must be a number in \\(0, 1\\)"),
        (dict(min_lr=-1e-3), "min_lr must be a number >= 0"),
        (dict(cooldown=-1), "cooldown must be an integer >= 0"),
        (dict(cooldown=1.5), "cooldown must be an integer >= 0"),
        (dict(patience=-2), "patience must be an integer >= 0"),
    ],
)
def test_reduce_lr_on_plateau_rejects_bad_settings(params, message):
    with pytest.raises(ValueError, match=message):
        _clf(callbacks=ReduceLROnPlateau(**params)).fit(X, Y)


def test_the_regressor_follows_the_same_rules():
    rng = np.random.default_rng(0)
    Xr, yr = rng.normal(size=(300, 5)), rng.normal(size=300)
    stopper = EarlyStopping(monitor="validation_loss", patience=12, min_delta=1e9)
    est = NumpyNetRegressor(
        hidden_layer_sizes=(8,), early_stopping=True, n_iter_no_change=1, tol=1e9, callbacks=stopper
    )
    est = _no_convergence_warning(lambda: est.set_params(random_state=0).fit(Xr, yr))
    assert est.n_iter_ == stopper.stopped_epoch == 13
    with pytest.raises(ValueError, match=r"X_val=X_val, y_val=y_val.*validation_data=.*early_stopping=True"):
        NumpyNetRegressor(callbacks=EarlyStopping()).fit(Xr, yr)
