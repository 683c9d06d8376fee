"""Every registered layer, activation and criterion passes the public checker.

A component registered without an entry here fails ``test_every_component_has_an_example``,
so nothing registered goes unchecked.
"""

import numpy as np
import pytest

from sknn_scratch import nn
from sknn_scratch.registry import ACTIVATIONS, CRITERIA, LAYERS, OPTIMIZERS
from sknn_scratch.testing import check_criterion, check_module, check_optimizer


def _layer_norm():
    """A LayerNorm whose scale and shift are not the identity's."""
    ln = nn.LayerNorm(5)
    ln.gamma[...] = np.linspace(0.5, 1.5, 5)
    ln.beta[...] = np.linspace(-0.2, 0.2, 5)
    return ln


def _feature_scale():
    """A FeatureScale whose scales are not ones."""
    layer = nn.FeatureScale(5)
    layer.scale[...] = np.linspace(-1.5, 2.0, 5)
    return layer


def _parametric():
    """A parametric SELU whose weights range beyond [0, 1]."""
    layer = nn.ParametricActivation("selu", 5)
    layer.weight[...] = np.linspace(-0.5, 1.5, 5)
    return layer


def _codes(shape, n_categories):
    """Integer codes (an embedding's input) instead of normal values."""
    return lambda rng: rng.integers(0, n_categories, size=shape)


# name -> (factory, input shape or input maker, expected output shape)
LAYER_EXAMPLES = {
    "linear": (lambda: nn.Linear(5, 3, rng=1), (4, 5), (4, 3)),
    "conv2d": (lambda: nn.Conv2d(2, 3, 3, rng=1), (2, 2, 5, 5), (2, 3, 5, 5)),
    "maxpool2d": (lambda: nn.MaxPool2d(2), (2, 2, 4, 6), (2, 2, 2, 3)),
    "flatten": (lambda: nn.Flatten(), (3, 2, 2, 2), (3, 8)),
    "reshape": (lambda: nn.Reshape((2, 3)), (4, 6), (4, 2, 3)),
    "dropout": (lambda: nn.Dropout(0.4, rng=3), (4, 6), (4, 6)),
    "batchnorm": (lambda: nn.BatchNormalization(0.9), (6, 4), (6, 4)),
    "channelwise_scaling": (lambda: nn.ChannelwiseScaling(4), (5, 4), (5, 4)),
    "layernorm": (_layer_norm, (4, 5), (4, 5)),
    "embedding": (lambda: nn.Embedding(6, 3, rng=1), _codes((4, 2), 6), (4, 2, 3)),
    "conv1d": (lambda: nn.Conv1d(2, 3, 3, rng=1), (2, 2, 7), (2, 3, 5)),
    "avgpool2d": (lambda: nn.AvgPool2d(2), (2, 2, 4, 6), (2, 2, 2, 3)),
    "globalavgpool2d": (lambda: nn.GlobalAvgPool2d(), (2, 3, 4, 5), (2, 3)),
    "avgpool1d": (lambda: nn.AvgPool1d(3, 2), (2, 3, 8), (2, 3, 3)),
    "maxpool1d": (lambda: nn.MaxPool1d(2), (2, 3, 7), (2, 3, 3)),
    "residual": (lambda: nn.Residual(nn.Linear(4, 4, rng=1), nn.GELU(), nn.Linear(4, 4, rng=2)), (3, 4), (3, 4)),
    "numeric_embedding": (lambda: nn.NumericEmbedding(3, n_frequencies=5, sigma=0.5, rng=1), (4, 3), (4, 12)),
    "feature_scale": (_feature_scale, (4, 5), (4, 5)),
    "parametric": (_parametric, (4, 5), (4, 5)),
    "tabular_input": (
        lambda: nn.TabularInput(3, numeric=nn.NumericEmbedding(3, n_frequencies=4, sigma=0.5, rng=1)),
        (4, 3),
        (4, 12),
    ),
}
ACTIVATION_SHAPE = (4, 5)
CRITERION_EXAMPLES = {
    "nll": lambda x, r: (nn.LogSoftmax().forward(x), np.eye(x.shape[1])[r.integers(0, x.shape[1], len(x))]),
    "mse": lambda x, r: (x, r.normal(size=x.shape)),
    "bce": lambda x, r: (nn.Sigmoid().forward(x), (r.random(x.shape) > 0.5).astype(float)),
    "poisson_mean": lambda x, r: (np.exp(x), r.poisson(2.0, x.shape).astype(float)),
    "softmax_cross_entropy": lambda x, r: (x, np.eye(x.shape[1])[r.integers(0, x.shape[1], len(x))]),
    "sigmoid_bce": lambda x, r: (x, (r.random(x.shape) > 0.5).astype(float)),
    "squared_error": lambda x, r: (x, r.normal(size=x.shape)),
    "poisson": lambda x, r: (x, r.poisson(2.0, x.shape).astype(float)),
    "huber": lambda x, r: (x, r.normal(size=x.shape)),
    "absolute_error": lambda x, r: (x, r.normal(size=x.shape)),
    "quantile": lambda x, r: (x, r.normal(size=x.shape)),
}


def test_every_component_has_an_example():
    assert set(LAYERS.names()) <= set(LAYER_EXAMPLES), "registered layers without a check example"
    assert set(CRITERIA.names()) <= set(CRITERION_EXAMPLES), "registered criteria without a check example"


@pytest.mark.parametrize("name", sorted(LAYER_EXAMPLES))
def test_layer_passes_check_module(name, rng):
    factory, make_input, out_shape = LAYER_EXAMPLES[name]
    module = factory()
    assert isinstance(module, LAYERS.get(name))
    x = make_input(rng) if callable(make_input) else rng.normal(size=make_input)
    report = check_module(module, x, expected_output_shape=out_shape)
    assert report["grad_input_error"] < 1e-5 and report["grad_param_error"] < 1e-5


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_activation_passes_check_module(name, rng):
    report = check_module(
        ACTIVATIONS.get(name)(), rng.normal(size=ACTIVATION_SHAPE), expected_output_shape=ACTIVATION_SHAPE
    )
    assert report["grad_input_error"] < 1e-5


@pytest.mark.parametrize("name", sorted(CRITERION_EXAMPLES))
def test_criterion_passes_check_criterion(name):
    r = np.random.default_rng(7)
    x, target = CRITERION_EXAMPLES[name](r.normal(size=(6, 3)), r)
    report = check_criterion(CRITERIA.get(name)(), x, target)
    assert report["weighted_grad_error"] < 1e-5


def test_sequential_with_every_kind_of_layer_passes_check_module(rng):
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3, rng=0),
        nn.BatchNormalization(0.5),
        nn.ChannelwiseScaling(2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.3, rng=1),
        nn.Linear(8, 3, rng=2),
        nn.LogSoftmax(),
    )
    check_module(net, rng.normal(size=(3, 1, 4, 4)), expected_output_shape=(3, 3))


def test_sequential_of_modern_blocks_passes_check_module(rng):
    sequence = nn.Sequential(
        nn.Conv1d(2, 4, 3, padding="same", rng=0),
        nn.GELU(inplace=True),
        nn.MaxPool1d(2),
        nn.AvgPool1d(2, 1),
        nn.Flatten(),
        nn.Linear(8, 6, rng=1),
        nn.LayerNorm(6),
        nn.Residual(nn.Linear(6, 6, rng=2), nn.Mish(inplace=True), nn.Linear(6, 6, rng=3)),
        nn.PReLU(6),
        nn.Linear(6, 2, rng=4),
    )
    check_module(sequence, rng.normal(size=(3, 2, 6)), expected_output_shape=(3, 2))
    tabular = nn.Sequential(
        nn.Linear(4, 3, rng=5),  # the embedding passes the gradient on to the layer before it
        nn.NumericEmbedding(3, "periodic", 4, 2, sigma=0.5, rng=0),
        nn.FeatureScale(6),
        nn.Linear(6, 5, rng=1),
        nn.ParametricActivation(nn.Mish(inplace=True), 5),
        nn.Linear(5, 2, rng=2),
    )
    check_module(tabular, rng.normal(size=(4, 4)), expected_output_shape=(4, 2))
    tokens = nn.Sequential(nn.Embedding(7, 4, rng=0), nn.LayerNorm(4), nn.SiLU(), nn.Flatten(), nn.Linear(12, 2, rng=1))
    check_module(tokens, rng.integers(0, 7, size=(4, 3)), expected_output_shape=(4, 2))


class _Broken(nn.Module):
    """Deliberately wrong gradient: the checker must catch it."""

    def updateOutput(self, input):
        self.output = input**2
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = input * gradOutput  # should be 2 * input * gradOutput
        return self.gradInput


class _NoAccumulate(nn.Linear):
    def accGradParameters(self, input, gradOutput):
        self.gradW[...] = gradOutput.T @ input
        self.gradb[...] = gradOutput.sum(axis=0)


class _Float64Only(nn.Module):
    def updateOutput(self, input):
        self.output = np.asarray(input, dtype=np.float64) * 2
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = np.asarray(gradOutput, dtype=np.float64) * 2
        return self.gradInput


class _WrongShapePrediction(nn.Tanh):
    def output_shape(self, sample_shape):
        return (sample_shape[0] + 1,)


class _GradientOfCodes(nn.Embedding):
    """Claims a gradient with respect to its integer codes."""

    def updateGradInput(self, input, gradOutput):
        self.gradInput = np.ones(np.shape(input))
        return self.gradInput


@pytest.mark.parametrize(
    "module, message",
    [
        (_Broken(), "gradInput differs"),
        (_NoAccumulate(3, 2, rng=0), "does not accumulate"),
        (_Float64Only(), "float32"),
        (_WrongShapePrediction(), "output_shape"),
    ],
)
def test_check_module_catches_defects(module, message, rng):
    with pytest.raises(AssertionError, match=message):
        check_module(module, rng.normal(size=(3, 3)))


def test_check_module_requires_no_gradient_for_integer_codes(rng):
    with pytest.raises(AssertionError, match="integer input has no gradient"):
        check_module(_GradientOfCodes(5, 2, rng=0), rng.integers(0, 5, size=(3, 2)))


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_optimizer_passes_check_optimizer(name):
    report = check_optimizer(OPTIMIZERS.get(name), learning_rate=0.05)
    assert report["loss_ratio"] < 1e-2


class _Forgetful:
    """An optimizer whose state_dict drops its step count: resuming from it diverges."""

    def __init__(self, params, grads, learning_rate=0.05):
        from sknn_scratch.optim import Adam

        self._inner = Adam(params, grads, learning_rate=learning_rate)

    def step(self):
        self._inner.step()

    def state_dict(self):
        return {k: v for k, v in self._inner.state_dict().items() if k != "t"}

    def load_state_dict(self, state):
        self._inner.load_state_dict({**state, "t": 0})


class _Sign:
    """Signed steps of a fixed size: never settles on the quadratic's minimum."""

    def __init__(self, params, grads, learning_rate=0.05):
        self.params, self.grads, self.learning_rate = params, grads, learning_rate

    def step(self):
        for p, g in zip(self.params, self.grads, strict=True):
            p -= 0.5 * np.sign(g)

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


@pytest.mark.parametrize("cls, message", [(_Forgetful, "does not continue exactly"), (_Sign, "left the quadratic")])
def test_check_optimizer_catches_defects(cls, message):
    with pytest.raises(AssertionError, match=message):
        check_optimizer(cls, learning_rate=0.05)
