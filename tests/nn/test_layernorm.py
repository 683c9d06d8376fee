"""``LayerNorm`` against the plain formula, on 2-D and 3-D input, with and without its
learned scale and shift."""

import pickle

import numpy as np
import pytest
from _finite_differences import numeric_grad

from sknn_scratch import nn
from sknn_scratch.testing import check_module


def naive_layer_norm(x, gamma, beta, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


@pytest.mark.parametrize("shape", [(5, 6), (3, 4, 6)])
def test_forward_and_gradients_match_the_formula(shape, rng):
    ln = nn.LayerNorm(6, eps=1e-3)
    ln.gamma[...] = rng.normal(size=6)
    ln.beta[...] = rng.normal(size=6)
    x = rng.normal(loc=2.0, scale=3.0, size=shape)
    y = ln.forward(x)
    np.testing.assert_allclose(y, naive_layer_norm(x, ln.gamma, ln.beta, 1e-3), rtol=1e-12, atol=1e-12)
    g = rng.normal(size=shape)
    ln.zeroGradParameters()
    grad = ln.backward(x, g)

    def loss():
        return float(np.sum(naive_layer_norm(x, ln.gamma, ln.beta, 1e-3) * g))

    np.testing.assert_allclose(grad, numeric_grad(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ln.gradGamma, numeric_grad(loss, ln.gamma), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ln.gradBeta, g.reshape(-1, 6).sum(axis=0), rtol=1e-12)


def test_rows_are_standardised_and_evaluation_computes_the_same(rng):
    ln = nn.LayerNorm(8)
    x = rng.normal(loc=-4.0, scale=10.0, size=(16, 8))
    y = ln.forward(x)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=1), 1, rtol=1e-6)
    ln.evaluate()
    np.testing.assert_array_equal(ln.forward(x), y)
    assert ln._kept is None  # nothing kept in evaluation mode


def test_without_affine_there_are_no_parameters(rng):
    ln = nn.LayerNorm(4, affine=False)
    assert ln.getParameters() == [] and ln.getGradParameters() == []
    assert repr(ln) == "LayerNorm(4, affine=False)"
    x = rng.normal(size=(3, 4))
    np.testing.assert_allclose(ln.forward(x), naive_layer_norm(x, 1.0, 0.0, 1e-5), rtol=1e-12)
    check_module(ln, x)
    check_module(nn.Sequential(nn.Linear(3, 4, rng=0), ln), rng.normal(size=(3, 3)))


def test_backward_after_evaluation_uses_its_input(rng):
    ln = nn.LayerNorm(5)
    ln.gamma[...] = rng.normal(size=5)
    x, g = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    ln.forward(x)
    want = ln.backward(x, g).copy()
    other = nn.LayerNorm(5)
    other.gamma[...] = ln.gamma
    other.evaluate()
    other.forward(x)
    np.testing.assert_allclose(other.backward(x, g), want, rtol=1e-12)


def test_constant_rows_are_finite(rng):
    ln = nn.LayerNorm(3)
    y = ln.forward(np.full((2, 3), 7.0))
    assert np.all(y == 0)
    assert np.all(np.isfinite(ln.backward(np.full((2, 3), 7.0), rng.normal(size=(2, 3)))))


def test_float32_stays_float32(rng):
    ln = nn.LayerNorm(4)
    y = ln.forward(rng.normal(size=(3, 4)).astype(np.float32))
    assert y.dtype == ln.gamma.dtype == np.float32


@pytest.mark.parametrize("shape", [(3, 5), (3,), (3, 2, 5)])
def test_wrong_feature_count_is_named(shape):
    ln = nn.LayerNorm(4)
    with pytest.raises(ValueError, match=r"LayerNorm\(4\) expects input of shape \(n_samples, ..., 4\)"):
        ln.forward(np.zeros(shape))
    with pytest.raises(ValueError, match=r"LayerNorm\(4\) takes samples of shape"):
        ln.output_shape(shape[1:])


@pytest.mark.parametrize("bad", [dict(n_features=0), dict(n_features=3, eps=0), dict(n_features=3, eps="a")])
def test_bad_arguments(bad):
    with pytest.raises(ValueError, match="LayerNorm"):
        nn.LayerNorm(**bad)


def test_declarations():
    assert nn.LayerNorm.infer_args((7, 5)) == {"n_features": 5}
    assert nn.LayerNorm._decayed == ()
    assert repr(nn.LayerNorm(5, eps=1e-3)) == "LayerNorm(5, eps=0.001)"


def test_large_batches_in_pieces_match(rng, monkeypatch):
    from sknn_scratch.nn import layernorm

    ln = nn.LayerNorm(5)
    ln.gamma[...] = rng.normal(size=5)
    x, g = rng.normal(size=(7, 5)), rng.normal(size=(7, 5))
    want = [ln.forward(x).copy(), ln.backward(x, g).copy(), ln.gradGamma.copy()]
    monkeypatch.setattr(layernorm, "_PIECE", 10)  # two rows per piece
    assert len(ln._pieces(7)) == 4
    ln.zeroGradParameters()
    for got, expected in zip([ln.forward(x), ln.backward(x, g), ln.gradGamma], want, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    kept = ln._kept
    ln.forward(x)
    # the next training pass writes into the same arrays
    assert all(a is b for a, b in zip(ln._kept[:2], kept[:2], strict=True))


@pytest.mark.parametrize("affine", [True, False])
def test_backward_is_both_passes_at_once(affine, rng):
    ln = nn.LayerNorm(6, affine=affine)
    if affine:
        ln.gamma[...] = rng.normal(size=6)
        ln.beta[...] = rng.normal(size=6)
    x, g = rng.normal(size=(9, 6)), rng.normal(size=(9, 6))
    ln.forward(x)
    grad = ln.updateGradInput(x, g).copy()
    ln.accGradParameters(x, g)
    want = [p.copy() for p in ln.getGradParameters()]
    ln.zeroGradParameters()
    np.testing.assert_allclose(ln.backward(x, g), grad, rtol=1e-12, atol=1e-15)
    for got, expected in zip(ln.getGradParameters(), want, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    ln.zeroGradParameters()
    assert ln.backward(x, g, input_grad=False) is None and ln.gradInput is None
    for got, expected in zip(ln.getGradParameters(), want, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_pickles_that_name_its_former_module_still_load(rng):
    ln = nn.LayerNorm(4)
    ln.gamma[...] = rng.normal(size=4)
    data = pickle.dumps(ln, protocol=2)  # names a class by its module and name, each ended by a newline
    former = data.replace(b"sknn_scratch.nn.layernorm\n", b"sknn_scratch.nn.normalization\n")
    assert former != data
    loaded = pickle.loads(former)
    assert type(loaded) is nn.LayerNorm
    np.testing.assert_array_equal(loaded.gamma, ln.gamma)
