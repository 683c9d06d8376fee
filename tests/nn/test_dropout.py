"""Tests of ``Dropout``: the mask of the forward pass is the one the backward pass uses."""

import copy

import numpy as np
import pytest
from _finite_differences import numeric_grad

from sknn_scratch.nn.dropout import Dropout


def naive_mask(seed, shape, p):
    """The documented mask, element by element: four 16-bit draws from each 64-bit integer,
    lowest bits first; kept when a draw / 65536 >= q, p rounded to a multiple of 1/65536."""
    size = int(np.prod(shape))
    words = np.random.default_rng(seed).integers(0, 2**64, size=(size + 3) // 4, dtype=np.uint64)
    draws = [(int(word) >> (16 * k)) & 0xFFFF for word in words for k in range(4)]
    q = round(p * 65536) / 65536
    mask = np.zeros(size)
    for i in range(size):
        mask[i] = 1.0 / (1.0 - q) if draws[i] / 65536 >= q else 0.0
    return mask.reshape(shape)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("shape", [(6, 5), (3, 2, 4, 4)])
def test_training_forward_matches_naive_mask(p, shape):
    x = np.random.default_rng(0).normal(size=shape)
    d = Dropout(p, rng=123)
    out = d.forward(x)
    expected_mask = naive_mask(123, shape, p)
    np.testing.assert_allclose(d.mask, expected_mask, rtol=1e-15)
    np.testing.assert_allclose(out, x * expected_mask, rtol=1e-15)


@pytest.mark.parametrize("p", [0.2, 0.6])
def test_backward_uses_the_forward_mask(p):
    # notebook defect 1 at layer level: the gradient must belong to the forward's mask
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 7)) + 5.0  # no zero inputs: zero outputs are dropped elements
    d = Dropout(p, rng=2)
    out = d.forward(x)
    mask = d.mask.copy()
    state = copy.deepcopy(d.rng.bit_generator.state)
    g = rng.normal(size=out.shape)
    grad = d.backward(x, g)
    np.testing.assert_array_equal(grad, g * mask)
    np.testing.assert_array_equal(grad == 0, out == 0)
    assert np.any(out == 0) and np.any(out != 0)
    np.testing.assert_array_equal(d.backward(x, g), grad)  # a second backward: same mask
    np.testing.assert_array_equal(d.mask, mask)
    assert d.rng.bit_generator.state == state  # backward never draws


@pytest.mark.parametrize("p", [0.3, 0.7])
def test_gradient_matches_finite_differences_for_the_drawn_mask(p):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 6))
    template = Dropout(p, rng=4)
    d = copy.deepcopy(template)
    out = d.forward(x)
    R = rng.normal(size=out.shape)
    grad = d.backward(x, R)

    def loss():  # a copy of the template replays the same mask
        return float(np.sum(copy.deepcopy(template).forward(x) * R))

    np.testing.assert_allclose(grad, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)


def test_masks_keep_the_expected_fraction_and_mean():
    d = Dropout(0.3, rng=5)
    out = d.forward(np.ones((200, 500)))
    assert abs(np.mean(d.mask == 0) - 0.3) < 0.01
    assert abs(out.mean() - 1.0) < 0.02
    assert set(np.unique(d.mask)) <= {0.0, 65536 / (65536 - round(0.3 * 65536))}


class _EveryDraw:
    """A stand-in generator whose 64-bit integers hold every 16-bit value once: a mask of
    65536 elements then sees each draw exactly once."""

    def integers(self, low, high, size, dtype):
        assert (low, high, size, dtype) == (0, 1 << 64, 1 << 14, np.uint64)
        return np.arange(1 << 16, dtype=np.uint16).view(np.uint64)


@pytest.mark.parametrize("p", [1e-6, 0.1, 0.3, 0.5, 0.999999])
def test_over_every_draw_the_mask_drops_q_and_averages_exactly_one(p):
    # unbiasedness without sampling noise: (65536 - t) draws of 0 .. 65535 are >= t, each kept
    # with 65536 / (65536 - t), so the mask's mean is 1 (a comparison off by one draw is not)
    d = Dropout(p)
    d.rng = _EveryDraw()
    d.forward(np.ones(1 << 16))
    threshold = min(round(p * 65536), 65535)
    assert np.count_nonzero(d.mask == 0) == threshold
    assert d.mask.mean() == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("p", [1e-6, 0.999999])
def test_extreme_drop_rates_round_to_the_16_bit_grid(p):
    # q rounds to 0 (nothing dropped, no scaling) or at most 65535/65536 (a finite scale)
    d = Dropout(p, rng=13)
    out = d.forward(np.ones((64, 64)))
    assert np.all(np.isfinite(out))
    if p < 0.5:
        np.testing.assert_array_equal(out, 1.0)
    else:
        assert set(np.unique(d.mask)) <= {0.0, 65536.0} and np.mean(out == 0) > 0.999


def test_new_mask_every_training_forward():
    d = Dropout(0.5, rng=6)
    x = np.ones((10, 10))
    d.forward(x)
    first = d.mask.copy()
    d.forward(x)
    assert not np.array_equal(first, d.mask)


def test_evaluation_is_the_identity():
    x = np.random.default_rng(7).normal(size=(4, 5))
    d = Dropout(0.5, rng=8)
    d.forward(x)
    d.evaluate()
    state = copy.deepcopy(d.rng.bit_generator.state)
    out = d.forward(x)
    assert d.mask is None
    np.testing.assert_array_equal(out, x)
    g = np.arange(20.0).reshape(4, 5)
    np.testing.assert_array_equal(d.backward(x, g), g)
    assert d.rng.bit_generator.state == state


def test_p_zero_is_the_identity_without_draws():
    x = np.random.default_rng(9).normal(size=(4, 5))
    d = Dropout(0.0, rng=10)
    state = copy.deepcopy(d.rng.bit_generator.state)
    np.testing.assert_array_equal(d.forward(x), x)
    np.testing.assert_array_equal(d.backward(x, x), x)
    assert d.mask is None and d.rng.bit_generator.state == state


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, "0.5", None, True, float("nan")])
def test_bad_p_raises(p):
    with pytest.raises(ValueError, match="p must be"):
        Dropout(p)


def test_float32_stays_float32_and_drops_the_same_elements():
    x = np.random.default_rng(11).normal(size=(6, 4, 3, 3))
    d32, d64 = Dropout(0.4, rng=12), Dropout(0.4, rng=12)
    out32 = d32.forward(x.astype(np.float32))
    out64 = d64.forward(x)
    grad32 = d32.backward(x.astype(np.float32), np.ones(x.shape, dtype=np.float32))
    assert out32.dtype == grad32.dtype == d32.mask.dtype == np.float32
    np.testing.assert_array_equal(out32 == 0, out64 == 0)
    np.testing.assert_allclose(out32, out64, rtol=1e-6)


def test_reproducible_from_rng_and_never_uses_the_global_state(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the global numpy random state was used")

    for name in ("rand", "random", "random_sample", "uniform", "binomial", "seed"):
        monkeypatch.setattr(np.random, name, forbidden)
    x = np.ones((5, 5))
    a, b = Dropout(0.5, rng=13), Dropout(0.5, rng=np.random.default_rng(13))
    np.testing.assert_array_equal(a.forward(x), b.forward(x))
    assert isinstance(Dropout(0.5).rng, np.random.Generator)
    assert not np.array_equal(Dropout(0.5, rng=14).forward(x), Dropout(0.5, rng=15).forward(x))


def test_grad_output_of_another_shape_raises():
    d = Dropout(0.5, rng=16)
    d.forward(np.ones((3, 4)))
    with pytest.raises(ValueError, match="mask"):
        d.backward(np.ones((3, 4)), np.ones((4, 3)))


def test_attributes_and_repr():
    d = Dropout(p=0.25)
    assert d.p == 0.25 and d.mask is None and d.getParameters() == []
    assert repr(d) == "Dropout(p=0.25)"
