"""Pipelines, grid search (also in parallel workers), cross-validation and cloning."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor

X, Y = load_iris(return_X_y=True)
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_pipeline_and_cross_val_score():
    pipe = make_pipeline(
        StandardScaler(),
        NumpyNetClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=200, random_state=0),
    )
    scores = cross_val_score(pipe, X, Y, cv=3)
    assert scores.mean() > 0.85


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grid_search_over_architectures(n_jobs):
    grid = GridSearchCV(
        make_pipeline(StandardScaler(), NumpyNetClassifier(max_iter=100, learning_rate_init=0.01, random_state=0)),
        {
            "numpynetclassifier__layers": [
                None,
                [("linear", {"n_out": 8}), "tanh"],
                [("linear", {"n_out": 8}), "batchnorm", "channelwise_scaling", "relu", ("dropout", {"p": 0.1})],
            ],
            "numpynetclassifier__alpha": [1e-4, 1e-2],
        },
        cv=3,
        n_jobs=n_jobs,
    )
    grid.fit(X, Y)
    assert len(grid.cv_results_["params"]) == 6
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.best_score_ > 0.85


def test_layers_parameter_is_never_mutated_and_clone_is_independent():
    from sknn_scratch.nn import Linear, ReLU

    layer = Linear(4, 6, rng=0)
    before = layer.W.copy()
    layers = [layer, ReLU(), ("linear", {"n_out": 5})]
    clf = NumpyNetClassifier(layers=layers, max_iter=20, random_state=0).fit(X, Y)
    np.testing.assert_array_equal(layer.W, before)
    assert clf.get_params()["layers"] is layers and layers[2] == ("linear", {"n_out": 5})
    assert clf.network_[0] is not layer
    cloned = clone(clf)
    assert cloned.get_params()["layers"][0] is not layer
    assert not hasattr(cloned, "network_") and not hasattr(cloned, "classes_")


def test_cnn_from_flat_rows_with_inferred_input_shape():
    Xd, yd = load_digits(return_X_y=True)
    Xd = (Xd[:400] / 16).astype(np.float32)
    yd = yd[:400]
    cnn = NumpyNetClassifier(
        layers=[("conv2d", {"out_channels": 4, "kernel_size": 3}), "relu", ("maxpool2d", {"kernel_size": 2})],
        input_shape=(1, 8, -1),
        max_iter=30,
        learning_rate_init=0.01,
        random_state=0,
    ).fit(Xd, yd)
    assert cnn.score(Xd, yd) > 0.9
    assert cnn.predict_proba(Xd).dtype == np.float32
    # one estimator accepts any feature count through the -1
    one_d = NumpyNetClassifier(
        layers=[("conv2d", {"out_channels": 2, "kernel_size": 3}), "relu"],
        input_shape=(1, 1, -1),
        max_iter=5,
        random_state=0,
    )
    one_d.fit(X, Y)
    one_d.fit(Xd, yd)
    assert one_d.n_features_in_ == 64


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(input_shape=(1, 8, 9)), "expects 72 features per sample, but X has 64 features"),
        (dict(input_shape=(3, -1)), "cannot reshape 64 features"),
        (dict(input_shape=(1, -1, -1)), "at most one -1"),
        (
            dict(layers=[("conv2d", {"out_channels": 2, "kernel_size": 3})]),
            r"layers\[0\].*cannot take samples of shape \(64,\)",
        ),
        (dict(layers=["relu", "conv2"]), "Did you mean 'conv2d'"),
        (dict(layers=[("linear", {"units": 3})]), r"Linear has no argument 'units' \(did you mean 'n_out'\?\)"),
        (dict(layers=[42]), "is not a layer spec"),
    ],
)
def test_bad_architectures_are_clear_errors(params, message):
    Xd, yd = load_digits(return_X_y=True)
    clf = NumpyNetClassifier(max_iter=2, **params)
    with pytest.raises(ValueError, match=message):
        clf.fit(Xd[:50], yd[:50])
    assert not hasattr(clf, "network_")


def test_regressor_in_pipeline_and_grid_search():
    rng = np.random.default_rng(0)
    Xr = rng.normal(size=(150, 3))
    yr = Xr @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=150)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid = GridSearchCV(
            NumpyNetRegressor(max_iter=200, learning_rate_init=0.01, random_state=0),
            {"hidden_layer_sizes": [(8,), (16, 8)], "solver": ["adam", "lbfgs"]},
            cv=3,
        ).fit(Xr, yr)
    assert grid.best_score_ > 0.95
