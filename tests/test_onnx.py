"""ONNX export: onnxruntime's outputs equal predict/predict_proba."""

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris, make_multilabel_classification
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor
from sknn_scratch.nn import Module, SoftMax

pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")
from sknn_scratch.onnx import to_onnx  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _run(model, X):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:400] / 16).astype(np.float32), y[:400]


def _check_classifier(est, X):
    labels, proba = _run(to_onnx(est, X[:1]), X)
    np.testing.assert_allclose(proba, est.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(labels, est.predict(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_classifier(dtype):
    X, y = load_iris(return_X_y=True)
    X = X.astype(dtype)
    est = NumpyNetClassifier(hidden_layer_sizes=(8, 4), activation="tanh", max_iter=100, random_state=0)
    _check_classifier(est.fit(X, y), X)


def test_binary_string_labels_and_multilabel(digits):
    X, y = digits
    est = NumpyNetClassifier(hidden_layer_sizes=(8,), activation="logistic", max_iter=20, random_state=0)
    _check_classifier(est.fit(X, np.where(y > 4, "big", "small")), X)
    Xm, Ym = make_multilabel_classification(n_samples=80, n_features=6, n_classes=3, random_state=0)
    Xm = Xm.astype(np.float32)
    est = NumpyNetClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0).fit(Xm, Ym)
    _check_classifier(est, Xm)


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_regressor_single_and_multi_output(loss):
    rng = np.random.default_rng(0)
    X = rng.random((100, 5)).astype(np.float32)
    Y = np.column_stack([X.sum(axis=1), X[:, 0] * 2]) + 0.1
    est = NumpyNetRegressor(hidden_layer_sizes=(8,), loss=loss, max_iter=50, random_state=0)
    for target in (Y[:, 0], Y):
        est.fit(X, target)
        (out,) = _run(to_onnx(est, X[:1]), X)
        np.testing.assert_allclose(out.reshape(est.predict(X).shape), est.predict(X), rtol=1e-5, atol=1e-5)


def test_cnn_with_batch_norm_and_every_layer_option(digits):
    X, y = digits
    layers = [
        ("conv2d", {"out_channels": 4, "kernel_size": 3}),
        "batchnorm",
        "channelwise_scaling",
        "relu",
        ("maxpool2d", {"kernel_size": 3, "stride": 1, "padding": 1}),
        ("conv2d", {"out_channels": 6, "kernel_size": 2, "stride": 2, "padding": 1}),
        "sigmoid",
        ("maxpool2d", {"kernel_size": 2}),
        ("dropout", {"p": 0.2}),
        ("linear", {"n_out": 12}),
        "batchnorm",
        "exp",
        ("linear", {"n_out": 8}),
        "identity",
        SoftMax(),  # an instance: a softmax named last in layers is taken for an output layer, an error
    ]
    est = NumpyNetClassifier(layers=layers, input_shape=(1, 8, 8), max_iter=3, random_state=0).fit(X, y)
    _check_classifier(est, X)


def test_a_pipeline_converts(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), NumpyNetClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0))
    pipe.fit(X, y)
    labels, proba = _run(to_onnx(pipe, X[:1]), X)
    np.testing.assert_allclose(proba, pipe.predict_proba(X), atol=1e-5)


class _Plugin(Module):
    def updateOutput(self, input):
        self.output = np.asarray(input) * 2
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = np.asarray(gradOutput) * 2
        return self.gradInput


def test_a_plugin_layer_without_converter_is_named(digits):
    X, y = digits
    est = NumpyNetClassifier(layers=[("linear", {"n_out": 4}), _Plugin()], max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(NotImplementedError, match="no ONNX converter for the layer _Plugin"):
        to_onnx(est, X[:1])


# -- the modern blocks -------------------------------------------------------------------
def _modern_dense_layers():
    from sknn_scratch.nn import GELU, Linear, Residual

    return [
        ("linear", {"n_out": 12}),
        "gelu",
        ("prelu", {"n_parameters": 12, "init": 0.1}),
        "layernorm",
        "silu",
        Residual(Linear(12, 12), GELU(approximate="tanh")),
        "mish",
        ("softplus", {"beta": 2.0, "threshold": 1.0}),
        "selu",
        ("elu", {"alpha": 0.5}),
        ("leaky_relu", {"negative_slope": 0.2}),
        ("prelu", {"init": 0.3}),
        ("layernorm", {"affine": False}),
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_modern_activations_layer_norm_and_residual(dtype, digits):
    X, y = digits
    X = X.astype(dtype)
    est = NumpyNetClassifier(layers=_modern_dense_layers(), max_iter=5, random_state=0).fit(X, y)
    _check_classifier(est, X)


def test_sequence_blocks(digits):
    X, y = digits
    layers = [
        ("conv1d", {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1}),
        ("prelu", {"n_parameters": 4, "init": 0.1}),
        ("maxpool1d", {"kernel_size": 2}),
        ("conv1d", {"out_channels": 4, "kernel_size": 3, "padding": "same", "bias": False}),
        ("avgpool1d", {"kernel_size": 3, "stride": 1}),
        "silu",
    ]
    est = NumpyNetClassifier(layers=layers, input_shape=(4, 16), max_iter=5, random_state=0).fit(X, y)
    _check_classifier(est, X)


def test_image_average_pooling(digits):
    X, y = digits
    layers = [
        ("conv2d", {"out_channels": 4, "kernel_size": 3}),
        ("prelu", {"n_parameters": 4, "init": 0.2}),
        ("avgpool2d", {"kernel_size": 3, "stride": 1}),
        ("avgpool2d", {"kernel_size": 2}),
        "globalavgpool2d",
    ]
    est = NumpyNetClassifier(layers=layers, input_shape=(1, 8, 8), max_iter=5, random_state=0).fit(X, y)
    _check_classifier(est, X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_regressor(dtype):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 10, size=(150, 3)).astype(dtype)
    y = X[:, 0] * 0.3 + (X[:, 1] == 4)
    layers = [("embedding", {"n_categories": 10, "dim": 4}), "layernorm", ("linear", {"n_out": 8}), "gelu"]
    est = NumpyNetRegressor(layers=layers, max_iter=30, random_state=0).fit(X, y)
    (out,) = _run(to_onnx(est, X[:1]), X)
    np.testing.assert_allclose(out.ravel(), est.predict(X), rtol=1e-5, atol=1e-5)


def test_layer_norm_needs_opset_17(digits):
    X, y = digits
    est = NumpyNetClassifier(layers=[("linear", {"n_out": 4}), "layernorm"], max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(NotImplementedError, match=r"LayerNorm\(4\) converts to ONNX's LayerNormalization"):
        to_onnx(est, X[:1], target_opset=15)


# -- the tabular layers ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def cancer():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X[:300, :10]), y[:300]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "embedding, activation",
    [
        ({}, "selu"),
        ({"kind": "periodic", "n_frequencies": 8, "sigma": 0.5}, "mish"),
        ({"kind": "piecewise_linear", "dim": 3}, "gelu"),
        ({"kind": "piecewise_linear", "dim": None}, "mish"),
    ],
    ids=["pbld", "periodic", "piecewise_linear", "piecewise_linear_encoding"],
)
def test_tabular_layers(embedding, activation, dtype, cancer):
    from sknn_scratch.nn import NumericEmbedding, ParametricActivation, SiLU

    X, y = cancer
    X = X.astype(dtype)
    if embedding.get("kind") == "piecewise_linear":
        edges = NumericEmbedding.piecewise_edges(X, 6)
        edges[0] = edges[0][:3]  # a column with fewer bins: padding
        embedding = {**embedding, "edges": edges}
    layers = [
        ("numeric_embedding", embedding),
        ("feature_scale", {}),
        ("linear", {"n_out": 16}),
        ("parametric", {"activation": activation}),
        ("linear", {"n_out": 8}),
        ParametricActivation(SiLU()),  # one weight shared by every feature
    ]
    est = NumpyNetClassifier(layers=layers, max_iter=30, learning_rate_init=0.01, random_state=0).fit(X, y)
    assert est.predict_proba(X)[:, 1].std() > 0.2  # probabilities spread out: a wrong layout would show
    _check_classifier(est, X)
