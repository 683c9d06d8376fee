"""The new blocks reach the estimators by registry name, train, show in ``summary()``
and survive a save and load."""

import io

import joblib
import numpy as np
import pytest

from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor, nn
from sknn_scratch.registry import ACTIVATIONS

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ELEMENTWISE = ["gelu", "silu", "mish", "selu", "leaky_relu", "elu", "softplus"]


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    return X, np.sin(X[:, 0]) + 0.5 * X[:, 1]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation_by_name_trains(name, regression):
    X, y = regression
    reg = NumpyNetRegressor(hidden_layer_sizes=(16,), activation=name, max_iter=60, random_state=0).fit(X, y)
    assert reg.loss_curve_[-1] < 0.6 * reg.loss_curve_[0]
    assert isinstance(reg.network_[1], ACTIVATIONS.get(name))
    assert reg.network_[1].inplace  # after a Linear layer the builder lets it work in place


def test_prelu_by_activation_name(regression):
    # PReLU's init is its initial slope (PyTorch's meaning), not an initialiser name: the builder leaves it alone
    X, y = regression
    est = NumpyNetRegressor(hidden_layer_sizes=(8,), activation="prelu", max_iter=60, random_state=0).fit(X, y)
    assert isinstance(est.network_[1], nn.PReLU) and est.network_[1].init == 0.25
    assert est.loss_curve_[-1] < 0.6 * est.loss_curve_[0]


def test_prelu_as_a_layer_spec(regression):
    X, y = regression
    layers = [("linear", {"n_out": 8}), ("prelu", {"n_parameters": 8, "init": 0.25})]
    reg = NumpyNetRegressor(layers=layers, max_iter=60, random_state=0).fit(X, y)
    assert reg.network_[1].slope.shape == (8,) and not np.allclose(reg.network_[1].slope, 0.25)


def _sequence_data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 2 * 16))
    return X, (X[:, :16].sum(axis=1) > 0).astype(int)


def test_sequence_layers_by_name_train_and_round_trip(tmp_path):
    X, y = _sequence_data()
    layers = [
        ("conv1d", {"out_channels": 4, "kernel_size": 3, "padding": "same"}),
        "layernorm",
        "gelu",
        ("maxpool1d", {"kernel_size": 2}),
        ("avgpool1d", {"kernel_size": 2}),
        ("linear", {"n_out": 8}),
        ("layernorm", {"affine": False}),
        "mish",
        nn.Residual(nn.Linear(8, 8), nn.SiLU()),
    ]
    clf = NumpyNetClassifier(layers=layers, input_shape=(2, 16), max_iter=100, learning_rate_init=0.01, random_state=0)
    assert clf.fit(X, y).score(X, y) > 0.9
    kinds = [type(m).__name__ for m in clf.network_]
    assert kinds[:6] == ["Reshape", "Conv1d", "LayerNorm", "GELU", "MaxPool1d", "AvgPool1d"]
    assert clf.network_[2].n_features == 16  # inferred from the sample shape (4, 16)
    joblib.dump(clf, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    table = clf.summary(file=io.StringIO())
    assert "Conv1d(2, 4, kernel_size=3, padding='same')" in table and "LayerNorm(8, affine=False)" in table


def test_image_pooling_by_name():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 64))
    y = (X.reshape(80, 8, 8)[:, :4].mean(axis=(1, 2)) > 0).astype(int)
    layers = [
        ("conv2d", {"out_channels": 4, "kernel_size": 3}),
        "elu",
        ("avgpool2d", {"kernel_size": 2}),
        "globalavgpool2d",
    ]
    clf = NumpyNetClassifier(layers=layers, input_shape=(1, 8, 8), max_iter=30, random_state=0).fit(X, y)
    assert [type(m).__name__ for m in clf.network_][-3:] == ["AvgPool2d", "GlobalAvgPool2d", "Linear"]
    assert clf.network_[-1].n_in == 4


def test_embedding_of_categorical_columns(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.integers(0, 12, size=(300, 2)).astype(float)
    y = np.isin(X[:, 0], [1, 4, 7, 9]).astype(int)  # no order in the codes: an embedding learns it
    layers = [("embedding", {"n_categories": 12, "dim": 3}), ("linear", {"n_out": 8}), "relu"]
    clf = NumpyNetClassifier(layers=layers, max_iter=200, learning_rate_init=0.01, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.95
    joblib.dump(clf, tmp_path / "emb.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "emb.joblib").predict(X), clf.predict(X))
    with pytest.raises(ValueError, match=r"codes must be integers in \[0, 12\)"):
        clf.predict(X + 12)
