"""Sequential: backward through nested containers, with and without the input gradient;
leaves, clearState and inference copies."""

import copy

import numpy as np
import pytest
import scipy.sparse as sp

from sknn_scratch.nn import (
    BatchNormalization,
    ChannelwiseScaling,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
)


def _net():
    rng = np.random.default_rng(0)
    return Sequential(
        Conv2d(1, 2, 3, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Sequential(Linear(8, 6, rng=rng), BatchNormalization(), ChannelwiseScaling(6)),
        ReLU(),
        Linear(6, 3, rng=rng),
    )


def _grads(net):
    return [g.copy() for m in net.leaves() for g in m.getGradParameters()]


def test_skipping_the_input_gradient_gives_the_same_parameter_gradients():
    x = np.random.default_rng(1).normal(size=(5, 1, 4, 4))
    R = np.random.default_rng(2).normal(size=(5, 3))
    full, short = _net(), _net()
    full.forward(x)
    full.zeroGradParameters()
    grad_input = full.backward(x, R)
    assert grad_input.shape == x.shape
    short.forward(x)
    short.zeroGradParameters()
    assert short.backward(x, R, input_grad=False) is None and short.gradInput is None
    for a, b in zip(_grads(short), _grads(full), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert all(np.any(g) for g in _grads(full))


def test_nested_first_container_without_input_gradient():
    rng = np.random.default_rng(0)
    x, R = rng.normal(size=(6, 4)), rng.normal(size=(6, 2))
    net = Sequential(Sequential(ReLU(), Linear(4, 3, rng=0)), Linear(3, 2, rng=1))
    ref = copy.deepcopy(net)
    for n, input_grad in ((net, False), (ref, True)):
        n.forward(x)
        n.zeroGradParameters()
        n.backward(x, R, input_grad=input_grad)
    for a, b in zip(_grads(net), _grads(ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_first_layer_accumulates_for_dense_and_sparse_input():
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(6, 4)) * (rng.random((6, 4)) < 0.5)
    R = rng.normal(size=(6, 2))
    for x in (dense, sp.csr_matrix(dense)):
        for bias in (True, False):
            net = Sequential(Linear(4, 2, bias=bias, rng=0))
            net.forward(x)
            net[0].gradW.fill(1.0)
            net[0].gradb.fill(0.0)
            net.backward(x, R, input_grad=False)
            np.testing.assert_allclose(net[0].gradW, 1.0 + R.T @ dense, rtol=1e-12)
            np.testing.assert_allclose(net[0].gradb, R.sum(axis=0) if bias else 0.0, rtol=1e-12)


def test_leaves_clear_state_and_inference_copy():
    net = _net()
    net.add(Dropout(0.5, rng=0))
    leaves = net.leaves()
    assert [type(m).__name__ for m in leaves] == [
        "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "BatchNormalization", "ChannelwiseScaling", "ReLU",
        "Linear", "Dropout",
    ]  # fmt: skip
    x = np.random.default_rng(1).normal(size=(5, 1, 4, 4))
    net.forward(x)
    net.backward(x, np.ones((5, 3)))
    twin = net.inference_copy()
    assert not twin.training and all(not m.training for m in twin.leaves()) and net.training
    assert twin.leaves()[0].W is leaves[0].W  # parameters are shared, not copied
    assert all(m.output is None and m.gradInput is None for m in twin.leaves())
    assert leaves[-1].mask is not None and leaves[0].output is not None  # the original keeps its state
    twin.forward(x)
    assert leaves[-1].mask is not None and twin.leaves()[-1].mask is None
    net.clearState()
    assert all(m.output is None and m.gradInput is None for m in [net, *leaves])
    assert leaves[-1].mask is None
    assert all(v is None for m in leaves for k, v in vars(m).items() if k.startswith("_cache"))
    assert all(g is not None for m in leaves for g in m.getGradParameters())  # gradients stay


@pytest.mark.parametrize("mode", ["train", "evaluate"])
def test_inference_copy_forward_equals_evaluation_forward(mode):
    net = _net()
    x = np.random.default_rng(1).normal(size=(5, 1, 4, 4))
    net.forward(x)  # batch statistics move once
    getattr(net, mode)()
    want = copy.deepcopy(net)
    want.evaluate()
    np.testing.assert_array_equal(net.inference_copy().forward(x), want.forward(x))


def test_flatten_parameters_keeps_tied_weights_tied_and_counts_a_module_once():
    a, b = Linear(4, 4, rng=0), Linear(4, 4, rng=1)
    b.W, b.gradW = a.W, a.gradW
    params, _ = Sequential(a, ReLU(), b).flatten_parameters()
    assert params.size == 16 + 4 + 4 and a.W is b.W and np.shares_memory(a.W, params)
    layer = Linear(4, 4, rng=0)
    params, _ = Sequential(layer, ReLU(), layer).flatten_parameters()
    assert params.size == 20


def test_flattened_parameters_keep_their_dtype_and_binding_on_other_input():
    net = Sequential(Linear(3, 2, rng=0))
    params, _ = net.flatten_parameters()
    out = net.forward(np.ones((2, 3), dtype=np.float32))
    assert out.dtype == np.float64 and net[0].W.dtype == np.float64 and np.shares_memory(net[0].W, params)
    free = Linear(3, 2, rng=0)  # not flattened: follows the input's dtype, as the seed's modules do
    assert free.forward(np.ones((2, 3), dtype=np.float32)).dtype == np.float32


def _residual(holder):
    """A layer ``x + inner(x)`` keeping its inner ``Linear`` in an attribute, a tuple, a
    list or a dict."""
    from sknn_scratch.nn import Module

    class Residual(Module):
        def __init__(self):
            super().__init__()
            inner = Linear(3, 3, rng=0)
            self.held = {"attribute": inner, "tuple": (inner,), "list": [inner], "dict": {"inner": inner}}[holder]

        @property
        def inner(self):
            return self.held if holder == "attribute" else self.held["inner"] if holder == "dict" else self.held[0]

        def leaves(self):
            return [self.inner]

        def updateOutput(self, input):
            self.output = input + self.inner.forward(input)
            return self.output

        def updateGradInput(self, input, gradOutput):
            self.gradInput = gradOutput + self.inner.updateGradInput(input, gradOutput)
            return self.gradInput

        def accGradParameters(self, input, gradOutput):
            self.inner.accGradParameters(input, gradOutput)

        def zeroGradParameters(self):
            self.inner.zeroGradParameters()

        def getParameters(self):
            return self.inner.getParameters()

        def getGradParameters(self):
            return self.inner.getGradParameters()

    return Residual


@pytest.mark.parametrize("holder", ["attribute", "tuple", "list", "dict"])
def test_inference_copy_of_a_module_holding_modules_copies_them_too(holder):
    from sknn_scratch.testing import check_module

    block = _residual(holder)()
    x = np.random.default_rng(0).normal(size=(4, 3))
    block.forward(x)
    kept = block.inner.output
    twin = block.inference_copy()
    assert type(twin.held) is type(block.held) and twin.inner is not block.inner
    assert twin.inner.W is block.inner.W  # parameters shared, read only
    twin.forward(x + 1)
    assert block.inner.output is kept and block.inner.training
    check_module(block, x)


def test_check_module_fails_a_layer_whose_inference_copies_share_a_sub_module():
    from sknn_scratch.testing import check_module

    class Sharing(_residual("tuple")):
        def inference_copy(self):
            twin = copy.copy(self)  # the tuple, and the layer in it, are shared
            twin.training = False
            return twin

    with pytest.raises(AssertionError, match="inference copy changed"):
        check_module(Sharing(), np.random.default_rng(0).normal(size=(4, 3)))
