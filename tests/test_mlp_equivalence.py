"""Same parameters, same random_state: the same network as scikit-learn's MLP.

The initial weights are drawn exactly as MLP draws them, and the losses, gradients and
optimizers are the same maths, so on full-batch problems (n_samples <= 200, where the
shuffling order does not matter) training follows MLP's trajectory to rounding error.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_IRIS = StandardScaler().fit_transform(X_IRIS)
X_REG, Y_REG = make_regression(n_samples=150, n_features=6, noise=5.0, random_state=0)
X_REG = StandardScaler().fit_transform(X_REG)
Y_REG = Y_REG / Y_REG.std()


def _fit_both(ours, theirs, X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return ours(**params).fit(X, y), theirs(**params).fit(X, y)


@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh", "identity"])
def test_initial_weights_equal_mlp(activation):
    a, b = _fit_both(
        NumpyNetClassifier,
        MLPClassifier,
        X_IRIS,
        Y_IRIS,
        hidden_layer_sizes=(7, 5),
        activation=activation,
        max_iter=1,
        learning_rate_init=1e-12,
        random_state=3,
    )
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_allclose(ca, cb, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam", alpha=1e-3),
        dict(solver="adam", alpha=5.0),  # the L2 term dominates the gradients
        dict(solver="sgd", alpha=2.0, momentum=0.9, nesterovs_momentum=False, learning_rate_init=0.05),
        dict(solver="sgd", momentum=0.9, nesterovs_momentum=True, learning_rate_init=0.05),
        dict(solver="sgd", momentum=0.5, nesterovs_momentum=False, learning_rate="invscaling", learning_rate_init=0.5),
        dict(solver="lbfgs", alpha=1e-2),
    ],
    ids=lambda p: "-".join(f"{v}" for v in p.values()),
)
@pytest.mark.parametrize("task", ["multiclass", "binary", "regression", "poisson"])
def test_training_follows_mlp(task, params):
    if task == "regression":
        est, ref, X, y = NumpyNetRegressor, MLPRegressor, X_REG, Y_REG
    elif task == "poisson":
        est, ref, X = NumpyNetRegressor, MLPRegressor, X_REG
        y = np.random.default_rng(0).poisson(np.exp(0.3 * X_REG[:, 0]))
        params = {**params, "loss": "poisson"}
    else:
        est, ref, X, y = NumpyNetClassifier, MLPClassifier, X_IRIS, Y_IRIS
        if task == "binary":
            y = (Y_IRIS == 1).astype(int)
    a, b = _fit_both(est, ref, X, y, hidden_layer_sizes=(8,), max_iter=30, random_state=0, **params)
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_allclose(a.loss_, b.loss_, rtol=1e-6)
    if hasattr(b, "loss_curve_"):
        np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-6)
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_allclose(ca, cb, rtol=1e-5, atol=1e-7)
    if est is NumpyNetClassifier:
        np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-5, atol=1e-8)
    else:
        np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-5, atol=1e-7)
