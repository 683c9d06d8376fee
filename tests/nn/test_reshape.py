"""Tests of ``Flatten`` and ``Reshape`` against element-by-element references."""

import numpy as np
import pytest
from _finite_differences import numeric_grad

from sknn_scratch.nn.reshape import Flatten, Reshape


def naive_reshape(x, sample_shape):
    """Copy the values of each sample in row-major order into the new sample shape."""
    out = np.empty((x.shape[0], *sample_shape), dtype=x.dtype)
    for n in range(x.shape[0]):
        values = [x[(n, *index)] for index in np.ndindex(*x.shape[1:])]
        for value, index in zip(values, np.ndindex(*sample_shape), strict=True):
            out[(n, *index)] = value
    return out


@pytest.mark.parametrize("shape", [(3, 2, 3, 4), (4, 5), (2, 3, 1), (5,)])
def test_flatten_matches_naive_and_finite_differences(shape):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)
    flat = Flatten()
    out = flat.forward(x)
    per_sample = int(np.prod(shape[1:]))
    assert out.shape == (shape[0], per_sample)
    np.testing.assert_array_equal(out, naive_reshape(x, (per_sample,)))
    R = rng.normal(size=out.shape)
    grad = flat.backward(x, R)
    assert grad.shape == x.shape

    def loss():
        return float(np.sum(flat.forward(x) * R))

    np.testing.assert_allclose(grad, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "in_shape, target, out_shape",
    [
        ((4, 6), (2, 3), (4, 2, 3)),
        ((3, 64), (1, 8, 8), (3, 1, 8, 8)),
        ((2, 3, 4), (-1,), (2, 12)),
        ((2, 2, 6), (-1, 4), (2, 3, 4)),
        ((2, 12), (2, -1, 3), (2, 2, 2, 3)),
        ((3, 5), 5, (3, 5)),
    ],
)
def test_reshape_matches_naive_and_finite_differences(in_shape, target, out_shape):
    rng = np.random.default_rng(1)
    x = rng.normal(size=in_shape)
    layer = Reshape(target)
    out = layer.forward(x)
    assert out.shape == out_shape
    np.testing.assert_array_equal(out, naive_reshape(x, out_shape[1:]))
    R = rng.normal(size=out.shape)
    grad = layer.backward(x, R)
    assert grad.shape == x.shape

    def loss():
        return float(np.sum(layer.forward(x) * R))

    np.testing.assert_allclose(grad, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_dtype_is_preserved(dtype):
    x = np.arange(24).reshape(2, 3, 4).astype(dtype)
    for layer, shape in ((Flatten(), (2, 12)), (Reshape((4, 3)), (2, 4, 3))):
        out = layer.forward(x)
        assert out.dtype == dtype and out.shape == shape
        grad = layer.backward(x, np.ones(shape, dtype=dtype))
        assert grad.dtype == dtype and grad.shape == x.shape


def test_reshape_incompatible_size_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(7,\).*\(2, 3\)"):
        Reshape((2, 3)).forward(np.zeros((4, 7)))
    with pytest.raises(ValueError, match=r"\(7,\).*\(-1, 2\)"):
        Reshape((-1, 2)).forward(np.zeros((4, 7)))


def test_grad_output_of_another_size_names_both_shapes():
    x = np.zeros((2, 3, 4))
    flat = Flatten()
    flat.forward(x)
    with pytest.raises(ValueError, match=r"\(2, 11\).*\(2, 3, 4\)"):
        flat.backward(x, np.zeros((2, 11)))
    layer = Reshape((4, 3))
    layer.forward(x)
    with pytest.raises(ValueError, match="gradOutput"):
        layer.backward(x, np.zeros((2, 5)))


@pytest.mark.parametrize("shape", [(2, -1, -1), (2.5,), ("a",), (-2, 3), None, (True, 2)])
def test_bad_reshape_target_raises(shape):
    with pytest.raises(ValueError):
        Reshape(shape)


def test_scalar_input_raises():
    with pytest.raises(ValueError):
        Flatten().forward(np.float64(3.0))
    with pytest.raises(ValueError):
        Reshape((1,)).forward(np.float64(3.0))


def test_empty_batch():
    assert Flatten().forward(np.zeros((0, 2, 3))).shape == (0, 6)
    assert Reshape((-1, 2)).forward(np.zeros((0, 4))).shape == (0, 2, 2)


def test_views_and_repr():
    x = np.zeros((2, 3, 4))
    assert np.shares_memory(Flatten().forward(x), x)
    assert repr(Flatten()) == "Flatten()"
    assert repr(Reshape([1, 8, 8])) == "Reshape((1, 8, 8))" and Reshape([1, 8, 8]).shape == (1, 8, 8)
    assert Flatten().getParameters() == [] and Reshape((2,)).getGradParameters() == []
