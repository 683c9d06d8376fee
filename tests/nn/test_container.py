"""Sequential.backward with gradients set instead of accumulated."""

import numpy as np
import pytest
import scipy.sparse as sp

from sknn_scratch.nn import (
    BatchNormalization,
    ChannelwiseScaling,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sequential,
)


def _net():
    rng = np.random.default_rng(0)
    return Sequential(
        Conv2d(1, 2, 3, rng=rng),  # fused backward, default setGradParameters
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Sequential(Linear(8, 6, rng=rng), BatchNormalization(), ChannelwiseScaling(6)),
        ReLU(),
        Linear(6, 3, rng=rng),  # its own setGradParameters
    )


def _grads(net):
    return [g.copy() for module_grads in net.getGradParameters() for g in _leaves(module_grads)]


def _leaves(grads):
    for g in grads:
        if isinstance(g, list):
            yield from _leaves(g)
        else:
            yield g


@pytest.mark.parametrize("input_grad", [True, False])
def test_set_gradients_equal_zeroed_then_accumulated(input_grad):
    x = np.random.default_rng(1).normal(size=(5, 1, 4, 4))
    R = np.random.default_rng(2).normal(size=(5, 3))
    ref, net = _net(), _net()
    ref.forward(x)
    ref.zeroGradParameters()
    want_input = ref.backward(x, R, input_grad=input_grad)
    want = _grads(ref)

    net.forward(x)
    for g in _leaves(net.getGradParameters()):
        g.fill(3.0)  # stale values from an earlier batch
    got_input = net.backward(x, R, input_grad=input_grad, accumulate=False)
    for a, b in zip(_grads(net), want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert all(np.any(g) for g in want)
    if input_grad:
        np.testing.assert_allclose(got_input, want_input, rtol=1e-12)
    else:
        assert got_input is None and want_input is None


def test_first_layer_sets_gradients_for_dense_and_sparse_input():
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(6, 4)) * (rng.random((6, 4)) < 0.5)
    R = rng.normal(size=(6, 2))
    for x in (dense, sp.csr_matrix(dense)):
        for bias in (True, False):
            net = Sequential(Linear(4, 2, bias=bias, rng=0))
            net.forward(x)
            net[0].gradW.fill(9.0)
            net[0].gradb.fill(9.0)
            net.backward(x, R, input_grad=False, accumulate=False)
            np.testing.assert_allclose(net[0].gradW, R.T @ dense, rtol=1e-12)
            np.testing.assert_allclose(net[0].gradb, R.sum(axis=0) if bias else 0.0, rtol=1e-12)


def test_linear_overrides_set_and_the_default_zeroes_then_accumulates():
    assert Linear.setGradParameters is not Module.setGradParameters
    layer = ChannelwiseScaling(3)
    x = np.random.default_rng(0).normal(size=(4, 3))
    layer.forward(x)
    layer.gradGamma.fill(5.0)
    layer.gradBeta.fill(5.0)
    layer.setGradParameters(x, np.ones((4, 3)))
    np.testing.assert_allclose(layer.gradGamma, x.sum(axis=0))
    np.testing.assert_allclose(layer.gradBeta, 4.0)
