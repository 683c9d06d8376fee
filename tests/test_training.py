"""One objective and one epoch, against numbers worked out by hand.

The network is one linear layer ``z = x @ W.T + b`` with ``W = [[0.5, -1.0]]`` and
``b = [0.25]``, on two rows ``x = [1, 2], [3, -1]`` with targets ``y = 1, 0``, and
MLP's regression loss with ``alpha = 0.1``:

* scores ``z = [-1.25, 2.75]``, residuals ``d = z - y = [-2.25, 2.75]``;
* loss ``= 1/2 * mean(d**2) + alpha / 2 * |W|**2 / n = 1/2 * 6.3125 + 0.05 * 1.25 / 2
  = 3.15625 + 0.03125 = 3.1875``;
* gradients ``dL/dz = d / n = [-1.125, 1.375]``, ``gradW = dL/dz @ x + alpha / n * W =
  [3.0, -3.625] + [0.025, -0.05] = [3.025, -3.675]``, ``gradb = sum(dL/dz) = 0.25``;
* an SGD step of 0.1 gives ``W = [0.1975, -0.6325]``, ``b = 0.225``; Adam's first step
  of 0.01 moves every parameter by 0.01 against its gradient's sign:
  ``W = [0.49, -0.99]``, ``b = 0.24``.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sknn_scratch import NumpyNetRegressor
from sknn_scratch.estimators._training import Objective, run_epoch
from sknn_scratch.nn import Linear, Sequential, SquaredErrorCriterion
from sknn_scratch.optim import SGD, Adam

X = np.array([[1.0, 2.0], [3.0, -1.0]])
Y = np.array([[1.0], [0.0]])
W, B = np.array([[0.5, -1.0]]), np.array([0.25])
LOSS = 3.1875
GRAD_W, GRAD_B = np.array([3.025, -3.675]), 0.25


def _objective():
    layer = Linear(2, 1, rng=0)
    layer.W[...], layer.b[...] = W, B
    return Objective(Sequential(layer), SquaredErrorCriterion(), alpha=0.1), layer


def test_the_objective_and_its_gradient_equal_the_hand_computed_ones():
    objective, layer = _objective()
    assert objective(X, Y) == pytest.approx(LOSS, rel=1e-12)
    np.testing.assert_allclose(layer.gradW.ravel(), GRAD_W, rtol=1e-12)
    np.testing.assert_allclose(layer.gradb, [GRAD_B], rtol=1e-12)
    # the flat gradient vector holds the same numbers: W's, then b's
    np.testing.assert_allclose(objective.grads, [*GRAD_W, GRAD_B], rtol=1e-12)
    # only the weight is decayed: the offset's factor is 0
    np.testing.assert_array_equal(objective.decay, [1.0, 1.0, 0.0])


@pytest.mark.parametrize(
    "make, weights, offset",
    [
        (lambda p, g: SGD(p, g, learning_rate=0.1), [0.1975, -0.6325], 0.225),
        (lambda p, g: Adam(p, g, learning_rate=0.01), [0.49, -0.99], 0.24),
    ],
    ids=["sgd", "adam"],
)
def test_one_epoch_of_one_batch_steps_as_computed_by_hand(make, weights, offset):
    objective, layer = _objective()
    optimizer = make(objective.params, objective.grads)
    loss = run_epoch(objective, optimizer, X, Y, None, batch_size=2)
    assert loss == pytest.approx(LOSS, rel=1e-12)
    np.testing.assert_allclose(layer.W.ravel(), weights, rtol=1e-6)
    np.testing.assert_allclose(layer.b, [offset], rtol=1e-6)


def test_the_estimator_records_the_epoch_and_steps_its_network_as_computed_by_hand():
    est = NumpyNetRegressor(hidden_layer_sizes=(), solver="sgd", momentum=0.0, learning_rate_init=0.1, alpha=0.1)
    est.set_params(batch_size=2, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, Y.ravel())  # builds the network; its weights are then set by hand
    est.coefs_, est.intercepts_ = [W.T], [B]
    t_before = est.t_
    est.partial_fit(X, Y.ravel())
    assert est.loss_ == pytest.approx(LOSS, rel=1e-12) and est.loss_curve_[-1] == est.loss_
    assert est.n_iter_ == 1 and est.t_ == t_before + 2
    assert est.learning_rate_curve_[-1] == 0.1 == est.optimizer_.learning_rate
    np.testing.assert_allclose(est.coefs_[0].ravel(), [0.1975, -0.6325], rtol=1e-12)
    np.testing.assert_allclose(est.intercepts_[0], [0.225], rtol=1e-12)
    np.testing.assert_allclose(est.predict(X), X @ np.array([0.1975, -0.6325]) + 0.225, rtol=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # two epochs on purpose
def test_validation_scores_equal_scikit_learns_metrics():
    """The epoch's validation score skips the metrics' input checks, not their results:
    R^2 (constant targets, weights, several outputs) and accuracy (labels, multilabel)."""
    from sklearn.metrics import accuracy_score, r2_score

    from sknn_scratch import NumpyNetClassifier
    from sknn_scratch.estimators.regressor import _r2

    rng = np.random.default_rng(0)
    for k in range(60):
        n, m = int(rng.integers(2, 40)), int(rng.integers(1, 3))
        y = rng.normal(size=(n, m))
        pred = (y + rng.normal(size=(n, m))).astype(np.float32 if k % 3 else np.float64)
        weights = rng.random(n) if k % 2 else None
        if k % 5 == 0:
            y[:, 0] = 1.0  # a constant target: 1 when predicted exactly, else 0
            pred[:, 0] = 1.0 if k % 10 == 0 else pred[:, 0]
        target = y.ravel() if m == 1 else y
        assert _r2(target, pred, weights) == r2_score(target, pred.ravel() if m == 1 else pred, sample_weight=weights)
    X = rng.normal(size=(60, 3))
    for y in (np.array(["a", "b", "c"])[rng.integers(0, 3, 60)], (rng.random((60, 2)) < 0.5).astype(int)):
        clf = NumpyNetClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
        scores, weights = clf._scores(X), rng.random(60)
        expected = accuracy_score(y, clf.predict(X), sample_weight=weights)
        assert clf._score_predictions(scores, y, weights) == pytest.approx(expected, rel=1e-12)
