"""The blocks of modern networks through the estimators: a residual network with layer
normalisation, GELU and dropout, trained with AdamW on a cosine schedule and a smoothed
log-loss, inside a grid search, saved, loaded and exported; the robust regression losses."""

import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

BLOCK = [("layernorm", {}), ("linear", {"n_out": 256}), "gelu", ("dropout", {"p": 0.1})]
LAYERS = [("linear", {"n_out": 256}), ("residual", BLOCK), ("residual", BLOCK)]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:400] / 16).astype(np.float32), y[:400]


def _modern(**kw):
    params = dict(
        layers=LAYERS,
        solver="adamw",
        learning_rate="cosine",
        loss=("log_loss", {"label_smoothing": 0.1}),
        learning_rate_init=3e-3,
        batch_size=64,
        max_iter=12,
        random_state=0,
    )
    return NumpyNetClassifier(**{**params, **kw})


def test_a_residual_network_trains_in_a_grid_search_saves_loads_and_exports(digits, tmp_path):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(_modern(), {"learning_rate_init": [1e-3, 3e-3]}, cv=2).fit(X, y)
    best = search.best_estimator_
    assert search.best_score_ > 0.85
    kinds = [type(m).__name__ for m in best.network_]
    assert kinds == ["Linear", "Residual", "Residual", "Linear"]
    assert [type(m).__name__ for m in best.network_[1]] == ["LayerNorm", "Linear", "GELU", "Dropout"]
    assert type(best.optimizer_).__name__ == "AdamW" and best.learning_rate_curve_[-1] < best.learning_rate_curve_[0]
    assert best._criterion.label_smoothing == 0.1
    table = best.summary(file=io.StringIO())
    assert "Residual" in table and "LayerNorm" in table
    expected = best.predict_proba(X)
    # saved and loaded: the same predictions, and it trains on
    path = tmp_path / "model.joblib"
    joblib.dump(best, path)
    for loaded in (pickle.loads(pickle.dumps(best)), joblib.load(path), joblib.load(path, mmap_mode="r")):
        np.testing.assert_array_equal(loaded.predict_proba(X), expected)
        loaded.partial_fit(X, y)
    sio = pytest.importorskip("skops.io")
    data = sio.dumps(best)
    assert sio.get_untrusted_types(data=data) == ["sknn_scratch.estimators.classifier.NumpyNetClassifier"]
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    # exported to ONNX: onnxruntime gives the same probabilities
    onnxruntime = pytest.importorskip("onnxruntime")
    from sknn_scratch.onnx import to_onnx

    session = onnxruntime.InferenceSession(to_onnx(best, X[:1]).SerializeToString(), providers=["CPUExecutionProvider"])
    labels, proba = session.run(None, {"X": X})
    np.testing.assert_allclose(proba, expected, atol=1e-5)
    np.testing.assert_array_equal(labels, best.predict(X))


def test_label_smoothing_changes_the_loss_as_pytorch_defines_it(digits):
    X, y = digits
    plain = _modern(loss="log_loss", max_iter=1).fit(X, y)
    smooth = _modern(max_iter=1).fit(X, y)
    assert smooth.loss_ > plain.loss_  # the smoothed targets cannot be fitted exactly
    with pytest.raises(ValueError, match="label_smoothing"):
        _modern(loss=("log_loss", {"label_smoothing": 2.0})).fit(X, y)


@pytest.mark.parametrize(
    "loss", ["huber", ("huber", {"delta": 0.5}), "absolute_error", ("quantile", {"quantiles": (0.2, 0.5, 0.8)})]
)
def test_robust_regression_losses_train_predict_and_export(loss):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4)).astype(np.float32)
    noise = rng.standard_t(df=2, size=400)  # heavy tails: outliers
    y = (X[:, 0] - 2 * X[:, 1] + 0.3 * noise).astype(np.float32)
    reg = NumpyNetRegressor(loss=loss, hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=150)
    reg.set_params(random_state=0).fit(X, y)
    pred = reg.predict(X)
    if isinstance(loss, tuple) and loss[0] == "quantile":
        assert pred.shape == (400, 3) and reg.n_outputs_ == 3
        below = (y[:, None] < pred).mean(axis=0)
        np.testing.assert_allclose(below, [0.2, 0.5, 0.8], atol=0.08)  # the quantiles hold their share of rows
        assert np.all(np.diff(pred, axis=1).mean(axis=0) > 0)
        assert 0 < reg.score(X, y) < 1  # D^2 pinball
    else:
        assert pred.shape == (400,) and reg.score(X, y) > 0.8
    onnxruntime = pytest.importorskip("onnxruntime")
    from sknn_scratch.onnx import to_onnx

    session = onnxruntime.InferenceSession(to_onnx(reg, X[:1]).SerializeToString(), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"X": X})
    np.testing.assert_allclose(out.reshape(pred.shape), pred, atol=1e-5)


def test_every_name_is_accepted_where_a_name_is_accepted(digits):
    X, y = digits
    est = NumpyNetClassifier(hidden_layer_sizes=(16,), activation="mish", solver="rmsprop", learning_rate="one_cycle")
    est.set_params(max_iter=3, learning_rate_init=0.01, random_state=0).fit(X, y)
    assert type(est.network_[1]).__name__ == "Mish" and type(est.optimizer_).__name__ == "RMSprop"
    layers = [("conv1d", {"out_channels": 4, "kernel_size": 3}), "silu", ("avgpool1d", {"kernel_size": 2}), "flatten"]
    NumpyNetClassifier(layers=layers, input_shape=(1, 64), max_iter=2, random_state=0).fit(X, y)
    layers = [("conv2d", {"out_channels": 4, "kernel_size": 3}), "elu", "globalavgpool2d"]
    NumpyNetClassifier(layers=layers, input_shape=(1, 8, 8), max_iter=2, random_state=0).fit(X, y)
    NumpyNetClassifier(layers=[("linear", {"n_out": 8, "init": "he_normal"}), "leaky_relu"], max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="not a container layer"):
        NumpyNetClassifier(layers=[("linear", [("relu", {})])], max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match=r"layers\[0\]\[1\]"):
        NumpyNetClassifier(layers=[("residual", [("linear", {"n_out": 8}), "nope"])], max_iter=2).fit(X, y)
