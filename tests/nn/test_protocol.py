"""The module protocol of the layers: ``output_shape``, ``infer_args``, ``_decayed``,
``_transient``, pickling, and the Examples of the new modules."""

import copy
import doctest
import importlib
import pickle

import numpy as np
import pytest

from sknn_scratch import nn
from sknn_scratch.nn.module import Module

# every layer of the engine, with a sample shape it takes and one it cannot take
SHAPES = [
    (lambda: nn.Linear(6, 3), (6,), (6, 1)),
    (lambda: nn.Conv2d(2, 3, 3, padding=0), (2, 5, 6), (3, 5, 6)),
    (lambda: nn.Conv1d(2, 3, 3, stride=2), (2, 9), (2, 2)),
    (lambda: nn.MaxPool2d(2), (2, 5, 6), (2, 5)),
    (lambda: nn.MaxPool1d(3), (2, 7), (2, 2)),
    (lambda: nn.AvgPool1d(2, 1), (2, 7), (2,)),
    (lambda: nn.AvgPool2d(2), (2, 4, 5), (2, 1, 5)),
    (lambda: nn.GlobalAvgPool2d(), (3, 4, 5), (3, 4)),
    (lambda: nn.Flatten(), (2, 3, 4), None),
    (lambda: nn.Reshape((-1, 4)), (2, 6), (5,)),
    (lambda: nn.Dropout(0.5), (2, 3), None),
    (lambda: nn.BatchNormalization(), (3, 4, 4), ()),
    (lambda: nn.ChannelwiseScaling(3), (3, 2, 2), (2, 3)),
    (lambda: nn.LayerNorm(4), (3, 4), (4, 3)),
    (lambda: nn.Embedding(5, 2), (3,), (3, 2)),
    (lambda: nn.Residual(nn.Linear(4, 4), nn.GELU()), (4,), (3,)),
    (lambda: nn.SoftMax(), (5,), (5, 2)),
    (lambda: nn.LogSoftmax(), (5,), (5, 2)),
    (lambda: nn.PReLU(3), (3, 4), (4, 3)),
    (lambda: nn.NumericEmbedding(3, dim=2), (3,), (3, 1)),
    (lambda: nn.NumericEmbedding(2, "piecewise_linear", dim=None, edges=[[0, 1, 2], [0, 1]]), (2,), (3,)),
    (lambda: nn.FeatureScale(4), (3, 4), (4, 3)),
    (lambda: nn.ParametricActivation("tanh", 3), (3, 2), (2, 3)),
    *[(cls, (3, 2), None) for cls in (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.Identity, nn.Exp, nn.GELU, nn.SiLU, nn.Mish)],
    *[(cls, (3,), None) for cls in (nn.SELU, nn.ELU, nn.LeakyReLU, nn.Softplus)],
]


def _input(module, sample_shape, rng):
    if isinstance(module, nn.Embedding):
        return rng.integers(0, 5, size=(2, *sample_shape))
    return rng.normal(size=(2, *sample_shape))


@pytest.mark.parametrize("factory, good, bad", SHAPES)
def test_output_shape_predicts_the_forward_pass_and_names_bad_shapes(factory, good, bad, rng):
    module = factory()
    predicted = module.output_shape(good)
    assert module.output is None, "output_shape ran the layer"
    assert predicted == module.forward(_input(module, good, rng)).shape[1:]
    if bad is not None:
        with pytest.raises(ValueError, match=type(module).__name__) as info:
            module.output_shape(bad)
        assert str(bad) in str(info.value) or "smaller" in str(info.value) or "shorter" in str(info.value)


def test_decayed_parameters():
    assert nn.Linear._decayed == nn.Conv2d._decayed == nn.Conv1d._decayed == nn.Embedding._decayed == ("W",)
    assert nn.LayerNorm._decayed == nn.PReLU._decayed == nn.FeatureScale._decayed == ()
    assert nn.ParametricActivation._decayed == ()
    classes = (nn.Linear, nn.Conv2d, nn.Conv1d, nn.Embedding, nn.LayerNorm, nn.PReLU, nn.FeatureScale)
    for cls in (*classes, nn.ParametricActivation, nn.NumericEmbedding):
        assert set(cls._decayed) <= set(cls._parameters)


def test_infer_args():
    assert nn.Linear.infer_args((2, 3)) == {"n_in": 6}
    assert nn.Conv2d.infer_args((3, 8, 8)) == {"in_channels": 3}
    assert nn.Conv1d.infer_args((4, 20)) == {"in_channels": 4}
    assert nn.LayerNorm.infer_args((5, 7)) == {"n_features": 7}
    assert nn.PReLU.infer_args((5,)) == nn.Embedding.infer_args((3,)) == {}
    assert nn.NumericEmbedding.infer_args((6,)) == nn.ParametricActivation.infer_args((6, 2)) == {"n_features": 6}
    assert nn.FeatureScale.infer_args((2, 6)) == {"n_features": 6}


NEW_MODULES = [
    (lambda: nn.GELU(), (3, 4)),
    (lambda: nn.SiLU(inplace=True), (3, 4)),
    (lambda: nn.Mish(), (3, 4)),
    (lambda: nn.SELU(), (3, 4)),
    (lambda: nn.ELU(), (3, 4)),
    (lambda: nn.LeakyReLU(), (3, 4)),
    (lambda: nn.Softplus(), (3, 4)),
    (lambda: nn.PReLU(4, rng=0), (3, 4)),
    (lambda: nn.LayerNorm(4), (3, 4)),
    (lambda: nn.Embedding(5, 2, rng=0), (3, 4)),
    (lambda: nn.Conv1d(4, 2, 2, rng=0), (3, 4, 5)),
    (lambda: nn.AvgPool2d(2), (3, 4, 4, 4)),
    (lambda: nn.GlobalAvgPool2d(), (3, 4, 4, 4)),
    (lambda: nn.AvgPool1d(2), (3, 4, 5)),
    (lambda: nn.MaxPool1d(2), (3, 4, 5)),
    (lambda: nn.Residual(nn.Linear(4, 4, rng=0), nn.GELU(inplace=True)), (3, 4)),
    (lambda: nn.NumericEmbedding(4, rng=0), (3, 4)),
    (lambda: nn.NumericEmbedding(4, "periodic", rng=0), (3, 4)),
    (lambda: nn.NumericEmbedding(4, "piecewise_linear", edges=[[-1, 0, 1]] * 4, rng=0), (3, 4)),
    (lambda: nn.FeatureScale(4), (3, 4)),
    (lambda: nn.ParametricActivation(nn.Mish(inplace=True), 4), (3, 4)),
]


def _pass(module, shape, rng):
    x = rng.integers(0, 5, size=shape) if isinstance(module, nn.Embedding) else rng.normal(size=shape)
    y = module.forward(x.copy())
    module.backward(x, rng.normal(size=y.shape))
    return x


@pytest.mark.parametrize("factory, shape", NEW_MODULES)
def test_transient_lists_what_a_pass_leaves_behind(factory, shape, rng):
    module = factory()
    before = dict(vars(module))
    _pass(module, shape, rng)
    changed = {k for k, v in vars(module).items() if k not in before or v is not before[k]}
    declared = set(module._parameters) | set(module._gradients) | set(module._buffers) | set(module._transient)
    assert changed <= declared, f"left behind and not declared transient: {changed - declared}"
    module.clearState()
    assert all(getattr(module, key, None) is None for key in module._transient)


@pytest.mark.parametrize("factory, shape", NEW_MODULES)
def test_pickle_round_trip_predicts_the_same(factory, shape, rng):
    module = factory()
    x = _pass(module, shape, rng)
    module.evaluate()
    want = module.forward(x.copy()).copy()
    loaded = pickle.loads(pickle.dumps(module.clearState()))
    np.testing.assert_array_equal(loaded.forward(x.copy()), want)
    assert repr(loaded) == repr(module)
    twin = copy.deepcopy(module)
    for a, b in zip(twin.leaves(), module.leaves(), strict=True):
        for p, q in zip(a.getParameters(), b.getParameters(), strict=True):
            np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize(
    "name",
    [
        "activation",
        "conv1d",
        "embedding",
        "residual",
        "criterion",
        "normalization",
        "layernorm",
        "pooling",
        "init",
        "numeric_embedding",
        "scaling",
        "parametric",
    ],
)
def test_examples_run_as_doctests(name):
    result = doctest.testmod(importlib.import_module(f"sknn_scratch.nn.{name}"), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_every_layer_predicts_its_output_shape():
    for name in nn.__all__:
        obj = getattr(nn, name)
        if isinstance(obj, type) and issubclass(obj, Module) and obj not in (Module, nn.Sequential):
            assert "output_shape" in dir(obj), f"{name} has no output_shape"
