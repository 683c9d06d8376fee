"""``Residual``: the skip connection's output and gradients, its three backward paths,
and in-place activations at either end of its chain."""

import numpy as np
import pytest

from sknn_scratch import nn
from sknn_scratch.testing import check_module


def _block(inplace_first=False, inplace_last=False):
    return nn.Residual(
        nn.Tanh(inplace=inplace_first),
        nn.Linear(4, 4, rng=0),
        nn.SiLU(),
        nn.Linear(4, 4, rng=1),
        nn.GELU(inplace=inplace_last),
    )


def test_output_and_gradients_are_the_identity_plus_the_chain(rng):
    block = _block()
    chain = nn.Sequential(*block.modules)
    x, g = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    np.testing.assert_array_equal(block.forward(x), x + chain.forward(x))
    block.zeroGradParameters()
    grad = block.backward(x, g)
    chain.zeroGradParameters()  # the same modules: their gradients are recomputed
    want = g + chain.backward(x, g)
    np.testing.assert_allclose(grad, want, rtol=1e-12)
    assert repr(block) == "Residual(Tanh(), Linear(4, 4), SiLU(), Linear(4, 4), GELU())"


@pytest.mark.parametrize("first, last", [(True, False), (False, True), (True, True)])
def test_in_place_ends_of_the_chain_do_not_clobber_the_skip_connection(first, last, rng):
    x, g = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    reference = _block()
    want_y = reference.forward(x).copy()
    reference.zeroGradParameters()
    want_grad = reference.backward(x, g).copy()
    want_params = [p.copy() for m in reference.leaves() for p in m.getGradParameters()]
    block = _block(first, last)
    x_given, g_given = x.copy(), g.copy()
    np.testing.assert_allclose(block.forward(x_given), want_y, rtol=1e-12)
    np.testing.assert_array_equal(x_given, x)
    block.zeroGradParameters()
    np.testing.assert_allclose(block.backward(x_given, g_given), want_grad, rtol=1e-12)
    np.testing.assert_array_equal(g_given, g)
    for got, want in zip([p for m in block.leaves() for p in m.getGradParameters()], want_params, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_update_grad_input_and_acc_grad_parameters_agree_with_backward(rng):
    x, g = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    one, two = _block(inplace_last=True), _block(inplace_last=True)
    one.forward(x)
    two.forward(x)
    one.zeroGradParameters()
    two.zeroGradParameters()
    want = one.backward(x, g.copy())
    np.testing.assert_allclose(two.updateGradInput(x, g.copy()), want, rtol=1e-12)
    two.accGradParameters(x, g.copy())
    for a, b in zip(one.leaves(), two.leaves(), strict=True):
        for ga, gb in zip(a.getGradParameters(), b.getGradParameters(), strict=True):
            np.testing.assert_allclose(gb, ga, rtol=1e-12)


def test_parameter_gradients_only_inside_a_network(rng):
    net = nn.Sequential(nn.Residual(nn.Linear(4, 4, rng=0), nn.ReLU()), nn.Linear(4, 2, rng=1))
    x, g = rng.normal(size=(3, 4)), rng.normal(size=(3, 2))
    net.forward(x)
    net.zeroGradParameters()
    net.backward(x, g)
    full = [p.copy() for m in net.leaves() for p in m.getGradParameters()]
    net.zeroGradParameters()
    assert net.backward(x, g, input_grad=False) is None and net[0].gradInput is None
    for got, want in zip([p for m in net.leaves() for p in m.getGradParameters()], full, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_shapes_must_match(rng):
    block = nn.Residual(nn.Linear(4, 3, rng=0))
    with pytest.raises(ValueError, match=r"maps input of shape \(2, 4\) to shape \(2, 3\)"):
        block.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"maps input of shape \(4,\) to shape \(3,\)"):
        block.output_shape((4,))
    assert _block().output_shape((4,)) == (4,)


def test_residual_of_convolutions_passes_check_module(rng):
    block = nn.Residual(nn.Conv2d(2, 2, 3, rng=0), nn.ELU(), nn.Conv2d(2, 2, 3, rng=1))
    check_module(block, rng.normal(size=(2, 2, 4, 4)))
    assert nn.Residual().forward(np.ones((1, 2))).tolist() == [[2.0, 2.0]]  # an empty chain is the identity
