"""Callbacks cannot tear a fit, bad weights are refused, overflow is named, MLP's lines
are printed: what an adversarial user tried, and what the estimators now guarantee.

(Crash-safe files, shared objects through round trips, built-in callbacks as plain data
and plugin precedence are tested in test_callbacks.py, test_persistence_sharing.py and
test_plugins.py.)
"""

import copy
import io
import pickle
import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor
from sknn_scratch.callbacks import Callback, EarlyStopping, History

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n=240, n_features=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, n_features))
    return X, (X[:, :3].sum(axis=1) * 1.2).astype(int)  # 4 classes


def _clf(**kw):
    return NumpyNetClassifier(**{"hidden_layer_sizes": (16,), "max_iter": 5, "random_state": 0, **kw})


def _weights(est):
    return [c.copy() for c in est.coefs_ + est.intercepts_]


class _At(Callback):
    """Runs ``action(estimator)`` at the end of epoch ``epoch`` (or in ``hook``)."""

    def __init__(self, epoch, action, hook="on_epoch_end"):
        self.epoch, self.action, self.hook = epoch, action, hook

    def on_epoch_end(self, estimator, logs):
        if self.hook == "on_epoch_end" and logs["epoch"] == self.epoch:
            self.action(estimator)

    def on_fit_end(self, estimator, logs):
        if self.hook == "on_fit_end":
            self.action(estimator)


def _raise(exc):
    def action(estimator):
        raise exc

    return action


# -- 1. Ctrl-C in on_fit_end keeps the fit, with MLP's warning ---------------------------
def test_ctrl_c_in_on_fit_end_keeps_the_trained_model_with_mlps_warning():
    X, y = _data()
    est = _clf(max_iter=4, callbacks=_At(0, _raise(KeyboardInterrupt()), hook="on_fit_end"))
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        est.fit(X, y)
    assert est.n_iter_ == 4 and len(est.loss_curve_) == 4
    reference = _clf(max_iter=4).fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X), reference.predict_proba(X))


# -- 2. a callback that re-enters the estimator gets a clear error, and nothing changes ----
@pytest.mark.parametrize("call", ["fit", "partial_fit", "warm fit"])
@pytest.mark.parametrize("target", ["the estimator it is given", "the user's estimator"])
def test_a_callback_that_fits_the_estimator_again_is_refused_and_changes_nothing(call, target):
    X, y = _data()
    X2 = _data(seed=1)[0]
    est = _clf(max_iter=5).fit(X, y)
    before, proba = copy.deepcopy(est.__dict__), est.predict_proba(X)

    def refit(estimator):
        victim = estimator if target == "the estimator it is given" else est
        if call == "fit":
            victim.fit(X2, y)
        elif call == "partial_fit":
            victim.partial_fit(X2, y)
        else:
            victim.set_params(warm_start=True).fit(X2, y)

    est.set_params(callbacks=_At(1, refit))
    with pytest.raises(RuntimeError, match="while a fit of the same estimator runs"):
        est.partial_fit(X, y) if call == "partial_fit" else est.fit(X, y)
    est.set_params(callbacks=None, warm_start=False)
    np.testing.assert_array_equal(est.predict_proba(X), proba)
    assert est.n_iter_ == before["_state"].n_iter and est.loss_curve_ == before["_state"].loss_curve
    est.fit(X, y)  # and the estimator fits again afterwards


def test_a_callback_may_fit_another_estimator():
    X, y = _data()
    inner = []

    def train_another(estimator):
        inner.append(_clf(max_iter=2).fit(X, y))

    est = _clf(max_iter=3, callbacks=_At(1, train_another)).fit(X, y)
    assert est.n_iter_ == 3 and inner[0].n_iter_ == 2


# -- 3. set_params in a hook changes the next fit, not the one under way -------------------
@pytest.mark.parametrize(
    "change",
    [
        dict(tol=1e9, n_iter_no_change=1),
        dict(solver="sgd"),
        dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5),
        dict(solver="sgd", learning_rate="adaptive", tol=1e9, n_iter_no_change=1),
        dict(early_stopping=True),
        dict(max_iter=2),
        dict(batch_size=7),
    ],
    ids=lambda c: ",".join(c),
)
def test_set_params_in_a_hook_does_not_change_the_fit_under_way(change):
    X, y = _data()
    reference = _clf(max_iter=8).fit(X, y)
    est = _clf(max_iter=8, callbacks=_At(1, lambda e: e.set_params(**change)))
    est.fit(X, y)
    assert est.n_iter_ == 8
    for a, b in zip(_weights(est), _weights(reference), strict=True):
        np.testing.assert_array_equal(a, b)
    assert est.get_params()[next(iter(change))] == change[next(iter(change))]  # the next fit will use it


def test_set_params_on_the_estimator_itself_during_a_fit_is_kept_for_the_next_fit():
    # a hook that holds the estimator it was given to (not the copy being trained): its change was undone
    X, y = _data()
    est = _clf(max_iter=4)
    est.set_params(callbacks=_At(1, lambda e: est.set_params(max_iter=2, tol=0.5)))
    est.fit(X, y)
    assert est.n_iter_ == 4 and est.max_iter == 2 and est.tol == 0.5
    assert est.fit(X, y).n_iter_ == 2


# -- 4. a failed fit leaves the callbacks as they were --------------------------------------
def test_a_failed_warm_start_leaves_the_callbacks_as_they_were():
    X, y = _data()
    stopper, history = EarlyStopping(monitor="loss", restore_best=True, patience=100), History()
    est = _clf(max_iter=3, warm_start=True, callbacks=[stopper, history]).fit(X, y)
    stopper_before, history_before = copy.deepcopy(vars(stopper)), copy.deepcopy(history.history)
    size = len(pickle.dumps(est))

    class Fail(Callback):
        def on_epoch_end(self, estimator, logs):
            if logs["epoch"] == 2:
                raise RuntimeError("fails at epoch 2")

    est.set_params(callbacks=[stopper, history, Fail()])
    with pytest.raises(RuntimeError, match="fails at epoch 2"):
        est.fit(X, y)
    assert history.history == history_before and history.history["epoch"] == [1, 2, 3]
    assert set(vars(stopper)) == set(stopper_before)
    for key, value in stopper_before.items():
        assert pickle.dumps(vars(stopper)[key]) == pickle.dumps(value), key
    est.set_params(callbacks=[stopper, history])
    assert len(pickle.dumps(est)) == size


def test_the_callbacks_a_user_holds_see_a_successful_fit():
    X, y = _data()
    history = History()
    _clf(max_iter=3, callbacks=[history]).fit(X, y)
    assert history.history["epoch"] == [1, 2, 3]


# -- 10, 11. weights that leave nothing to learn from, or negative ones ----------------------
def test_validation_weights_are_validated_like_training_weights():
    X, y = _data()
    w = np.ones(len(y))
    w[3] = -1.0
    with pytest.raises(ValueError, match="sample_weight_val.*[Nn]egative"):
        _clf().fit(X, y, validation_data=(X, y, w))
    with pytest.raises(ValueError, match="sample_weight_val"):
        _clf().fit(X, y, validation_data=(X, y, np.zeros(len(y))))
    with pytest.raises(ValueError, match="[Nn]egative"):
        _clf().fit(X, y, sample_weight=-np.ones(len(y)))


def test_class_weights_that_zero_every_sample_are_an_error():
    X, y = _data()
    est = _clf(class_weight={0: 0, 1: 0, 2: 0, 3: 0})
    with pytest.raises(ValueError, match="at least one non-zero.*class weights"):
        est.fit(X, y)
    assert not hasattr(est, "network_")
    est = _clf(class_weight={0: 0, 1: 1, 2: 1, 3: 1})  # with sample weights that zero the rest
    with pytest.raises(ValueError, match="at least one non-zero"):
        est.fit(X, y, sample_weight=(y == 0).astype(float))


@pytest.mark.parametrize(
    "estimator, seed, side",
    [
        ("NumpyNetClassifier", 0, "held out"),
        ("NumpyNetClassifier", 1, "left to train on"),
        ("TabularNetClassifier", 0, "held out"),
        ("TabularNetClassifier", 9, "left to train on"),
    ],
)
def test_an_early_stopping_split_that_leaves_one_side_without_weight_is_named(estimator, seed, side):
    # the one weighted row falls on one side of the split (which side: the seed's split): the other side
    # weighs nothing, and would either train on nothing (a loss curve of zeros, no error) or leave nothing
    # to score the epochs on (an error about weights that are all zero, which the user's are not)
    from sknn_scratch import TabularNetClassifier

    X, y = _data(n=40, n_features=3)
    w = np.zeros(len(y))
    w[5] = 1.0
    est = (
        _clf(early_stopping=True, random_state=seed)
        if estimator == "NumpyNetClassifier"
        else TabularNetClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=seed)
    )
    with pytest.raises(ValueError, match=rf"sample_weight: the \d+ rows {side} .* all weigh 0"):
        est.fit(X, y, sample_weight=w)
    assert not hasattr(est, "network_")
    est.fit(X, y, sample_weight=w + 1e-3 * (np.arange(len(y)) % 2))  # weights on both sides: it trains


# -- 12. a float32 model and float64 rows beyond float32's range ----------------------------
def test_float64_rows_beyond_float32_range_are_named_for_a_float32_model():
    X, y = _data()
    est = _clf().fit(X.astype(np.float32), y)
    big = X.copy()
    big[5, 3] = 1e39
    for call in (est.predict, est.predict_proba, lambda rows: est.partial_fit(rows, y)):
        with pytest.raises(ValueError, match="beyond float32's range"):
            call(big)
    est.predict(X)  # ordinary float64 rows are converted as before
    reg = NumpyNetRegressor(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X.astype(np.float32), X[:, 0])
    with pytest.raises(ValueError, match="beyond float32's range"):
        reg.predict(big)


# -- 13. early stopping with a one-row class ------------------------------------------------
def test_early_stopping_on_a_multiclass_target_with_a_one_row_class_fits_as_mlp_does():
    X, y = _data(n=60)
    y = y % 3
    y[0] = 3  # a class with one row
    est = _clf(early_stopping=True, max_iter=3).fit(X, y)
    assert len(est.validation_scores_) == 3 and list(est.classes_) == [0, 1, 2, 3]


# -- 14. scikit-learn's own test of verbose output, the class renamed --------------------------
def test_scikit_learns_verbose_sgd_test_passes():
    X = [[3, 2], [1, 6]]
    y = [1, 0]
    clf = NumpyNetClassifier(solver="sgd", max_iter=2, verbose=10, hidden_layer_sizes=2)
    old_stdout = sys.stdout
    sys.stdout = output = io.StringIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        clf.partial_fit(X, y)
    finally:
        sys.stdout = old_stdout
    assert "Iteration" in output.getvalue()
