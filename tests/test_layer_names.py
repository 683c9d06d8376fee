"""The names people bring from Keras and PyTorch: the ``"dense"`` layer, ``units=``-style
arguments, batch normalisation with a learned scale and shift, and the convolution's
default padding shown where people look."""

import io

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor, TabularNetClassifier, TabularNetRegressor, register
from sknn_scratch.nn import BatchNormalization, ChannelwiseScaling, Conv2d, Linear, SoftMax
from sknn_scratch.registry import LAYERS
from sknn_scratch.testing import check_module

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X, Y = load_digits(return_X_y=True)
X = X[:300] / 16
Y = Y[:300]


def _fit(layers, **kw):
    return NumpyNetClassifier(layers=layers, max_iter=3, random_state=0, **kw).fit(X, Y)


# -- "dense" ------------------------------------------------------------------------------------------


def test_dense_is_linear():
    assert LAYERS.get("dense") is LAYERS.get("Dense") is Linear and "dense" in LAYERS
    dense = _fit([("dense", {"n_out": 16}), "relu"])
    linear = _fit([("linear", {"n_out": 16}), "relu"])
    np.testing.assert_array_equal(dense.predict_proba(X), linear.predict_proba(X))
    assert "dense" not in LAYERS.names()  # the names listed are the components' own; aliases are in .aliases
    assert LAYERS.aliases == {"dense": "linear"}


def test_an_alias_is_taken_like_a_built_in_name():
    with pytest.raises(ValueError, match="'dense' is another name of the layer 'linear'"):
        register("layer", "dense", Linear)
    with pytest.raises(ValueError, match="'dense' is another name of the layer 'linear'"):
        register("activation", "dense", Linear)
    with pytest.raises(ValueError, match="Did you mean 'dense'"):
        _fit([("denze", {"n_out": 4})])


# -- keyword arguments of other libraries -------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, message",
    [
        (("linear", {"units": 16}), "Linear has no argument 'units' (did you mean 'n_out'?)"),
        (("dense", {"out_features": 16}), "Linear has no argument 'out_features' (did you mean 'n_out'?)"),
        (("linear", {"n_outs": 16}), "Linear has no argument 'n_outs' (did you mean 'n_out'?)"),
        (
            ("conv2d", {"filters": 4, "kernel_size": 3}),
            "Conv2d has no argument 'filters' (did you mean 'out_channels'?)",
        ),
        (("dropout", {"rate": 0.2}), "Dropout has no argument 'rate' (did you mean 'p'?)"),
        (("batchnorm", {"momentum": 0.9}), "no argument 'momentum' (did you mean 'alpha'?, the weight of the old"),
        (("linear", {"colour": 16}), "Linear has no argument 'colour'; it takes n_in (inferred from the input), n_out"),
    ],
)
def test_an_unknown_argument_says_which_one_is_meant(spec, message):
    est = NumpyNetClassifier(layers=[spec], input_shape=(1, 8, 8), max_iter=3)
    with pytest.raises(ValueError) as info:
        est.fit(X, Y)
    text = str(info.value)
    assert text.startswith("layers[0]: ") and message in text
    for internal in ("rng", "dtype", "Generator", "float64"):  # the builder's own arguments are not the user's business
        assert internal not in text


@pytest.mark.parametrize("last", ["softmax", "Softmax", "logsoftmax", ("softmax", {})])
def test_layers_ending_in_a_softmax_are_taken_for_an_output_layer_and_refused(last):
    # Keras's Dense(10) + softmax written out: the estimator adds its own output layer after it, and the
    # network trained, badly, with two heads
    keras = [("dense", {"n_out": 64}), "relu", ("dense", {"n_out": 10}), last]
    with pytest.raises(ValueError, match=r"layers ends in '\w+', but layers holds the hidden layers only") as info:
        _fit(keras)
    assert "Drop the final" in str(info.value) and "SoftMax()" in str(info.value)
    with pytest.raises(ValueError, match="layers ends in"):
        NumpyNetClassifier(layers=keras).summary(64)


def test_a_softmax_instance_is_a_hidden_layer_as_written():
    est = _fit([("linear", {"n_out": 12}), SoftMax()])
    assert [type(m).__name__ for m in est.network_.modules] == ["Linear", "SoftMax", "Linear"]
    _fit([("linear", {"n_out": 12}), "softmax", ("linear", {"n_out": 8})])  # not last: as written


@pytest.mark.parametrize(
    "spec", [("conv2d", {"out_channels": 4, "kernel_size": (3, 3)}), ("maxpool2d", {"kernel_size": [2, 2]})]
)
def test_a_square_size_as_a_pair_says_to_give_one_integer(spec):
    with pytest.raises(
        ValueError, match=r"kernel_size is one integer, used along every axis: give kernel_size=\d, not"
    ) as info:
        _fit([spec], input_shape=(1, 8, 8))
    assert str(info.value).startswith("layers[0]: ")  # the layer's own check, named by its place
    with pytest.raises(ValueError, match=r"\(3, 5\), a size per axis, is not supported"):
        Conv2d(1, 2, (3, 5))


@pytest.mark.parametrize(
    "spec",
    [
        ("maxpooling2d", {"pool_size": 2}),
        ("maxpool2d", {"pool_size": 2}),
        ("conv2d", {"out_channels": 2, "kernel_size": 2}),
    ],
)
def test_a_mistake_in_a_spec_on_images_gets_no_advice_about_sequences(spec):
    # (n, 8, 8) is read as one-channel images; the advice for sequences concerns layers that cannot take them
    with pytest.raises(ValueError) as info:
        NumpyNetClassifier(layers=[spec], max_iter=3).fit(X.reshape(-1, 8, 8), Y)
    assert "sequences" not in str(info.value) and ".." not in str(info.value)


# -- estimator parameters of other libraries ----------------------------------------------------------


@pytest.mark.parametrize(
    "cls, given, message",
    [
        (NumpyNetClassifier, {"epochs": 10}, "NumpyNetClassifier has no parameter 'epochs' (did you mean 'max_iter'?)"),
        (
            NumpyNetRegressor,
            {"lr": 0.01},
            "NumpyNetRegressor has no parameter 'lr' (did you mean 'learning_rate_init'?)",
        ),
        (NumpyNetClassifier, {"hiden_layer_sizes": (8,)}, "'hiden_layer_sizes' (did you mean 'hidden_layer_sizes'?)"),
        (NumpyNetClassifier, {"weight_decay": 1e-4}, "'weight_decay' (did you mean 'alpha'?)"),
        (TabularNetClassifier, {"weight_decy": 0.1}, "'weight_decy' (did you mean 'weight_decay'?)"),
        (TabularNetRegressor, {"seed": 0}, "'seed' (did you mean 'random_state'?)"),
        (
            NumpyNetClassifier,
            {"colour": 1},
            "NumpyNetClassifier has no parameter 'colour'; its parameters are activation,",
        ),
    ],
)
def test_an_unknown_parameter_says_which_one_is_meant(cls, given, message):
    with pytest.raises(TypeError) as info:
        cls(**given)
    assert message in str(info.value)


def test_a_number_for_learning_rate_says_it_is_learning_rate_init():
    est = NumpyNetClassifier(learning_rate=0.01, max_iter=3)
    for fit in (lambda: est.fit(X, Y), lambda: est.partial_fit(X, Y, classes=np.unique(Y))):
        with pytest.raises(
            ValueError,
            match=r"schedule name among.*the step size itself is learning_rate_init.*Got 0.01",
        ):
            fit()


# -- batch normalisation with a learned scale and shift ---------------------------------------------


def _affine(C, rng=0):
    bn = BatchNormalization(alpha=0.5, affine=True, n_features=C)
    values = np.random.default_rng(rng)
    bn.gamma[...] = values.uniform(0.5, 2.0, size=C)
    bn.beta[...] = values.normal(size=C)
    return bn


@pytest.mark.parametrize("shape", [(6, 4), (5, 3, 4), (4, 3, 3, 2)])
def test_affine_batch_norm_passes_the_gradient_check(shape):
    x = np.random.default_rng(1).normal(2.0, 3.0, size=shape)
    report = check_module(_affine(shape[1]), x, expected_output_shape=shape)
    assert report["grad_input_error"] < 1e-6


@pytest.mark.parametrize("training", [True, False])
def test_affine_batch_norm_is_batch_norm_then_channelwise_scaling(training):
    """The seed's pair computes the same outputs and gradients, in both modes."""
    rng = np.random.default_rng(2)
    x, g = rng.normal(1.0, 2.0, size=(6, 3, 4, 4)), rng.normal(size=(6, 3, 4, 4))
    ours = _affine(3)
    norm, scale = BatchNormalization(alpha=0.5), ChannelwiseScaling(3)
    scale.gamma[...], scale.beta[...] = ours.gamma, ours.beta
    if not training:  # evaluation: the statistics of a training pass first
        ours.forward(x + 1), norm.forward(x + 1)
        for module in (ours, norm, scale):
            module.evaluate()
    y = ours.forward(x)
    np.testing.assert_allclose(y, scale.forward(norm.forward(x)), rtol=1e-12)
    grad = ours.backward(x, g)
    np.testing.assert_allclose(grad, norm.backward(x, scale.backward(norm.output, g)), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.gradGamma, scale.gradGamma, rtol=1e-10)
    np.testing.assert_allclose(ours.gradBeta, scale.gradBeta, rtol=1e-10)


def test_affine_batch_norm_equals_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, g = rng.normal(1.0, 2.0, size=(5, 3, 4, 4)), rng.normal(size=(5, 3, 4, 4))
    ours = _affine(3)
    weight = torch.tensor(ours.gamma.copy(), requires_grad=True)
    bias = torch.tensor(ours.beta.copy(), requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.batch_norm(xt, None, None, weight, bias, training=True, eps=BatchNormalization.EPS)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(ours.forward(x), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.backward(x, g), xt.grad.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ours.gradGamma, weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.gradBeta, bias.grad.numpy(), rtol=1e-10)


def test_batch_norm_keeps_its_default_and_asks_for_n_features():
    plain = BatchNormalization(0.9)
    assert not plain.affine and plain.getParameters() == [] and repr(plain) == "BatchNormalization(alpha=0.9)"
    with pytest.raises(ValueError, match=r"affine=True\) needs n_features"):
        BatchNormalization(affine=True)
    with pytest.raises(ValueError, match="affine must be True or False"):
        BatchNormalization(affine="yes")


def test_the_batchnorm_layer_learns_a_scale_and_shift_when_asked():
    layers = lambda **kw: [("dense", {"n_out": 16}), ("batchnorm", kw), "relu"]  # noqa: E731
    plain, affine = _fit(layers()), _fit(layers(affine=True))
    count = lambda est: sum(p.size for leaf in est.network_.leaves() for p in leaf.getParameters())  # noqa: E731
    assert count(affine) == count(plain) + 2 * 16
    bn = affine.network_.modules[1]
    assert bn.affine and bn.n_features == 16 and not np.array_equal(bn.gamma, np.ones(16))  # trained
    assert "BatchNormalization(alpha=0.9, affine=True, n_features=16)" in affine.summary(file=io.StringIO())
    # on images: one scale and shift per channel
    conv = [("conv2d", {"out_channels": 4, "kernel_size": 3}), ("batchnorm", {"affine": True}), "relu"]
    assert _fit(conv, input_shape=(1, 8, 8)).network_.modules[2].gamma.shape == (4,)


def test_affine_batch_norm_exports_to_onnx():
    pytest.importorskip("skl2onnx")
    ort = pytest.importorskip("onnxruntime")
    from sknn_scratch.onnx import to_onnx

    X32 = X.astype(np.float32)
    est = _fit([("dense", {"n_out": 16}), ("batchnorm", {"affine": True}), "relu"])
    est = NumpyNetClassifier(layers=est.layers, max_iter=5, random_state=0).fit(X32, Y)
    model = to_onnx(est, X32[:1])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    _, proba = session.run(None, {session.get_inputs()[0].name: X32})
    np.testing.assert_allclose(proba, est.predict_proba(X32), atol=1e-5)


# -- the convolution's default padding -----------------------------------------------------------------


def test_conv2d_shows_its_padding_in_its_docstring_repr_and_summary():
    assert 'padding : {"same", "valid"} or int, default="same"' in Conv2d.__doc__
    assert repr(Conv2d(1, 4, 3)) == "Conv2d(1, 4, kernel_size=3, padding='same')"
    assert repr(Conv2d(1, 4, 3, padding="valid")) == "Conv2d(1, 4, kernel_size=3, padding=0)"
    cnn = NumpyNetClassifier(layers=[("conv2d", {"out_channels": 4, "kernel_size": 3})], input_shape=(1, 8, 8))
    table = cnn.summary(file=io.StringIO())
    assert "Conv2d(1, 4, kernel_size=3, padding='same')" in table and "(4, 8, 8)" in table


def test_a_model_with_affine_batch_norm_round_trips_and_trains_on():
    import pickle

    est = _fit([("dense", {"n_out": 16}), ("batchnorm", {"affine": True}), "relu"])
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    gamma = loaded.network_.modules[1].gamma.copy()
    loaded.partial_fit(X, Y)
    assert not np.array_equal(loaded.network_.modules[1].gamma, gamma)  # its scale is a parameter still
