"""Tests of ``MaxPool2d`` against a naive loop-based pooling and finite differences."""

import numpy as np
import pytest
from _finite_differences import numeric_grad

from sknn_scratch.nn.pooling import AvgPool1d, AvgPool2d, GlobalAvgPool2d, MaxPool1d, MaxPool2d

# (kernel_size, stride, padding, height, width)
CONFIGS = [
    (2, None, 0, 4, 6),
    (2, None, 0, 5, 7),  # sizes that do not divide: floor
    (3, None, 0, 7, 6),
    (3, None, 1, 5, 5),
    (2, 1, 0, 4, 5),  # overlapping windows
    (3, 2, 0, 7, 6),
    (3, 2, 1, 6, 7),
    (2, 3, 0, 8, 7),  # gaps between windows
    (1, None, 0, 3, 4),
    (4, 2, 2, 5, 6),
]


def naive_pool(x, k, stride, pad):
    """Window maxima and, per window, the input index of the first maximum (row-major)."""
    stride = k if stride is None else stride
    N, C, H, W = x.shape
    Ho = (H + 2 * pad - k) // stride + 1
    Wo = (W + 2 * pad - k) // stride + 1
    out = np.zeros((N, C, Ho, Wo))
    where = {}
    for n in range(N):
        for c in range(C):
            for h in range(Ho):
                for w in range(Wo):
                    best, best_at = -np.inf, None
                    for i in range(k):
                        for j in range(k):
                            r, q = h * stride + i - pad, w * stride + j - pad
                            if 0 <= r < H and 0 <= q < W and (best_at is None or x[n, c, r, q] > best):
                                best, best_at = x[n, c, r, q], (r, q)
                    out[n, c, h, w] = best
                    where[n, c, h, w] = best_at
    return out, where


def naive_grad(x, where, gradOutput):
    grad = np.zeros_like(x)
    for (n, c, h, w), (r, q) in where.items():
        grad[n, c, r, q] += gradOutput[n, c, h, w]
    return grad


@pytest.mark.parametrize("k, stride, pad, H, W", CONFIGS)
def test_forward_and_gradient_match_naive_loops(k, stride, pad, H, W):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, H, W))
    pool = MaxPool2d(k, stride=stride, padding=pad)
    out = pool.forward(x)
    expected, where = naive_pool(x, k, stride, pad)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)
    R = rng.normal(size=out.shape)
    np.testing.assert_allclose(pool.backward(x, R), naive_grad(x, where, R), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("k, stride, pad, H, W", CONFIGS)
def test_gradient_matches_finite_differences(k, stride, pad, H, W):
    rng = np.random.default_rng(1)
    # distinct values spaced far more than eps: the maxima do not switch under the perturbation
    x = rng.permutation(2 * 2 * H * W).reshape(2, 2, H, W) * 0.1
    pool = MaxPool2d(k, stride=stride, padding=pad)
    out = pool.forward(x)
    R = rng.normal(size=out.shape)
    grad = pool.backward(x, R)

    def loss():
        return float(np.sum(pool.forward(x) * R))

    np.testing.assert_allclose(grad, numeric_grad(loss, x), rtol=1e-6, atol=1e-7)


def test_non_divisible_sizes_floor_without_assert():
    # notebook defect 6: assert on sizes that do not divide by the kernel
    x = np.random.default_rng(2).normal(size=(2, 1, 5, 7))
    pool = MaxPool2d(2)
    out = pool.forward(x)
    assert out.shape == (2, 1, 2, 3)
    grad = pool.backward(x, np.ones_like(out))
    assert not np.any(grad[:, :, 4, :]) and not np.any(grad[:, :, :, 6])  # ignored row and column
    assert grad.sum() == out.size


def test_ties_send_the_gradient_to_one_element_only():
    x = np.zeros((1, 2, 4, 4))
    x[0, 1] = 3.0
    pool = MaxPool2d(2)
    out = pool.forward(x)
    grad = pool.backward(x, np.ones_like(out))
    assert grad.sum() == out.size  # not doubled or quadrupled by the ties
    # the first maximum in row-major order, as argmax picks it
    np.testing.assert_array_equal(grad[0, 0], np.array([[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]))
    x = np.array([[[[1.0, 5.0], [5.0, 0.0]]]])
    grad = MaxPool2d(2).backward(x, np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(grad[0, 0], [[0, 1], [0, 0]])


def test_overlapping_windows_accumulate_gradient():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0  # the maximum of all four 2x2 windows
    pool = MaxPool2d(2, stride=1)
    out = pool.forward(x)
    assert out.shape == (1, 1, 2, 2) and np.all(out == 1)
    grad = pool.backward(x, np.ones_like(out))
    assert grad[0, 0, 1, 1] == 4 and grad.sum() == 4


def test_padding_is_minus_infinity():
    x = -np.ones((1, 1, 2, 2)) * np.arange(1, 5).reshape(1, 1, 2, 2)
    out = MaxPool2d(2, stride=1, padding=1).forward(x)
    assert out.shape == (1, 1, 3, 3)
    assert np.all(out < 0)  # zero padding would have produced zeros
    assert out[0, 0, 0, 0] == -1 and out[0, 0, 2, 2] == -4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k, stride, pad", [(2, None, 0), (3, 2, 1), (2, 1, 0)])
def test_dtype_is_preserved(dtype, k, stride, pad):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 7, 6)).astype(dtype)
    pool = MaxPool2d(k, stride=stride, padding=pad)
    out = pool.forward(x)
    grad = pool.backward(x, np.ones(out.shape, dtype=dtype))
    assert out.dtype == dtype and grad.dtype == dtype
    np.testing.assert_array_equal(out, naive_pool(x.astype(np.float64), k, stride, pad)[0].astype(dtype))


def test_integer_input_gives_float_output():
    x = np.arange(16).reshape(1, 1, 4, 4)
    out = MaxPool2d(2).forward(x)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[0, 0], [[5, 7], [13, 15]])


def test_backward_on_another_input_uses_that_input():
    rng = np.random.default_rng(4)
    x1, x2 = rng.normal(size=(2, 2, 4, 4)), rng.normal(size=(2, 2, 4, 4))
    pool = MaxPool2d(2)
    pool.forward(x1)
    R = rng.normal(size=(2, 2, 2, 2))
    grad = pool.backward(x2, R)
    np.testing.assert_array_equal(grad, naive_grad(x2, naive_pool(x2, 2, None, 0)[1], R))


def test_evaluation_mode_keeps_no_cache_and_still_differentiates():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 2, 4, 4))
    pool = MaxPool2d(2)
    pool.evaluate()
    out = pool.forward(x)
    assert pool._cache_argmax is None and pool._cache_input is None
    R = rng.normal(size=out.shape)
    np.testing.assert_array_equal(pool.backward(x, R), naive_grad(x, naive_pool(x, 2, None, 0)[1], R))


def test_nan_propagates_to_the_output():
    x = np.zeros((1, 1, 2, 2))
    x[0, 0, 1, 0] = np.nan
    assert np.isnan(MaxPool2d(2).forward(x)[0, 0, 0, 0])


@pytest.mark.parametrize("shape", [(2, 3, 4), (4, 4), (1, 2, 3, 4, 5)])
def test_wrong_input_ndim_raises(shape):
    with pytest.raises(ValueError, match=r"\(n_samples, channels, height, width\)") as info:
        MaxPool2d(2).forward(np.zeros(shape))
    assert str(tuple(shape)) in str(info.value)


def test_kernel_larger_than_input_raises():
    with pytest.raises(ValueError, match="smaller than the kernel"):
        MaxPool2d(3).forward(np.zeros((1, 1, 2, 5)))
    assert MaxPool2d(3, padding=1).forward(np.zeros((1, 1, 1, 1))).shape == (1, 1, 1, 1)


@pytest.mark.parametrize(
    "args, kwargs",
    [((0,), {}), ((2.5,), {}), ((True,), {}), ((2,), {"stride": 0}), ((2,), {"padding": -1}), ((2,), {"padding": 2})],
)
def test_bad_options_raise_value_error(args, kwargs):
    with pytest.raises(ValueError):
        MaxPool2d(*args, **kwargs)


def test_wrong_grad_output_shape_raises():
    pool = MaxPool2d(2)
    x = np.zeros((1, 1, 4, 4))
    pool.forward(x)
    with pytest.raises(ValueError, match="gradOutput"):
        pool.backward(x, np.zeros((1, 1, 3, 2)))


def test_attributes_and_repr():
    pool = MaxPool2d(2)
    assert (pool.kernel_size, pool.stride, pool.padding) == (2, 2, 0)
    assert pool.getParameters() == [] and pool.getGradParameters() == []
    assert repr(pool) == "MaxPool2d(kernel_size=2)"
    assert repr(MaxPool2d(3, stride=1, padding=1)) == "MaxPool2d(kernel_size=3, stride=1, padding=1)"


def test_empty_batch():
    pool = MaxPool2d(2)
    x = np.zeros((0, 3, 4, 4))
    out = pool.forward(x)
    assert out.shape == (0, 3, 2, 2)
    assert pool.backward(x, out).shape == x.shape


def test_gradient_after_the_batch_shape_changes():
    # the window positions kept from the last batch must follow a new shape
    rng = np.random.default_rng(3)
    pool = MaxPool2d(2)
    for shape in [(3, 2, 6, 6), (3, 2, 6, 6), (2, 2, 6, 6), (2, 3, 4, 8), (3, 2, 6, 6)]:
        x = np.maximum(rng.normal(size=shape), 0)  # ReLU-like: windows of tied zeros
        out = pool.forward(x)
        R = rng.normal(size=out.shape)
        np.testing.assert_array_equal(pool.backward(x, R), naive_grad(x, naive_pool(x, 2, None, 0)[1], R))


@pytest.mark.parametrize("block_bytes", [1, 3000, 1 << 30])
@pytest.mark.parametrize(
    "k, stride, pad, H, W", [(2, None, 0, 4, 6), (3, 2, 1, 6, 7), (2, 3, 0, 8, 7), (2, 1, 0, 4, 5)]
)
def test_sample_blocks_do_not_change_results(monkeypatch, block_bytes, k, stride, pad, H, W):
    # one sample per block (1 byte), a shorter last block (3000 bytes), or one block:
    # the scratch slab is shared by blocks of different sizes
    from sknn_scratch.nn import _kernels

    monkeypatch.setattr(_kernels, "BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(1)
    x = rng.integers(0, 4, size=(5, 3, H, W)).astype(float)  # many ties
    pool = MaxPool2d(k, stride=stride, padding=pad)
    expected, where = naive_pool(x, k, stride, pad)
    np.testing.assert_array_equal(pool.forward(x), expected)
    g = rng.normal(size=expected.shape)
    np.testing.assert_allclose(pool.backward(x, g), naive_grad(x, where, g), rtol=0, atol=1e-15)  # sums' order
    x2 = rng.normal(size=(2, 3, H, W))  # a smaller batch after a larger one
    expected2, where2 = naive_pool(x2, k, stride, pad)
    np.testing.assert_array_equal(pool.forward(x2), expected2)
    g2 = rng.normal(size=expected2.shape)
    np.testing.assert_allclose(pool.backward(x2, g2), naive_grad(x2, where2, g2), rtol=0, atol=1e-15)


@pytest.mark.parametrize("k, stride", [(2, None), (2, 1), (2, 3)])
def test_a_gradient_that_is_not_finite_goes_to_the_maximum_only(k, stride):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 2, 6, 6))
    pool = MaxPool2d(k, stride=stride)
    out = pool.forward(x)
    g = rng.normal(size=out.shape)
    g[0, 0, 0, 0], g[1, 1, 0, 1] = np.inf, np.nan
    expected, where = naive_pool(x, k, stride, 0)
    with np.errstate(invalid="raise"):  # no inf * 0 on the way
        got = pool.backward(x, g)
    np.testing.assert_allclose(got, naive_grad(x, where, g), rtol=1e-15, atol=1e-15)  # sums' order
    assert np.isinf(got).sum() == 1 and np.isnan(got).sum() == 1


def test_empty_images_raise():
    for shape in [(1, 1, 0, 4), (1, 1, 4, 0), (1, 1, 0, 0)]:
        with pytest.raises(ValueError, match="images are empty"):
            MaxPool2d(2, stride=1, padding=1).forward(np.zeros(shape))


# -- average pooling, global average pooling and 1-D max pooling -------------------------
def naive_window_pool(x, k, stride, reduce):
    """``reduce`` over the windows of the last axis (1-D) or the last two axes (2-D)."""
    stride = k if stride is None else stride
    spatial = x.shape[2:]
    out_sizes = [(n - k) // stride + 1 for n in spatial]
    out = np.zeros((*x.shape[:2], *out_sizes))
    for index in np.ndindex(out.shape):
        n, c, *pos = index
        window = x[(n, c, *[slice(p * stride, p * stride + k) for p in pos])]
        out[index] = reduce(window)
    return out


@pytest.mark.parametrize(
    "cls, k, stride, shape",
    [
        (AvgPool1d, 2, None, (2, 3, 7)),
        (AvgPool1d, 3, 1, (2, 2, 6)),
        (AvgPool1d, 2, 3, (1, 2, 9)),
        (AvgPool2d, 2, None, (2, 2, 5, 4)),
        (AvgPool2d, 3, 2, (1, 2, 7, 6)),
        (AvgPool2d, 2, 1, (2, 1, 3, 4)),
        (MaxPool1d, 2, None, (2, 3, 7)),
        (MaxPool1d, 3, 1, (2, 2, 6)),
        (MaxPool1d, 2, 3, (1, 2, 9)),
    ],
)
def test_window_pools_match_loops_and_finite_differences(cls, k, stride, shape):
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape)
    pool = cls(k, stride)
    reduce = np.max if cls is MaxPool1d else np.mean
    y = pool.forward(x)
    np.testing.assert_allclose(y, naive_window_pool(x, k, stride, reduce), rtol=1e-12)
    assert y.shape[1:] == pool.output_shape(shape[1:])
    g = rng.normal(size=y.shape)
    grad = pool.backward(x, g)
    numeric = numeric_grad(lambda: float(np.sum(naive_window_pool(x, k, stride, reduce) * g)), x)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_maxpool1d_ties_nan_and_infinite_gradients():
    pool = MaxPool1d(3)
    x = np.array([[[1.0, 5.0, 5.0, np.nan, 2.0, 0.0]]])
    y = pool.forward(x)
    assert y[0, 0, 0] == 5.0 and np.isnan(y[0, 0, 1])
    grad = pool.backward(x, np.array([[[1.0, np.inf]]]))
    # the first maximum only; the NaN takes its window's gradient; inf does not become NaN elsewhere
    np.testing.assert_array_equal(grad, [[[0.0, 1.0, 0.0, np.inf, 0.0, 0.0]]])


def test_global_average_pooling():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 4, 5))
    pool = GlobalAvgPool2d()
    y = pool.forward(x)
    np.testing.assert_allclose(y, x.mean(axis=(2, 3)), rtol=1e-12)
    g = rng.normal(size=(2, 3))
    grad = pool.backward(x, g)
    np.testing.assert_allclose(grad, np.broadcast_to(g[:, :, None, None] / 20, x.shape), rtol=1e-12)
    assert grad.flags.c_contiguous and grad.flags.writeable
    assert pool.output_shape((3, 4, 5)) == (3,)
    with pytest.raises(ValueError, match=r"expects input of shape \(n_samples, channels, height, width\)"):
        pool.forward(np.zeros((2, 3, 4)))


@pytest.mark.parametrize(
    "pool, shape, message",
    [
        (
            AvgPool1d(2),
            (2, 3, 4, 4),
            r"AvgPool1d\(kernel_size=2\) expects input of shape \(n_samples, channels, length\)",
        ),
        (AvgPool2d(3), (2, 3, 2, 5), r"AvgPool2d\(kernel_size=3\): the input's size \(2, 5\) is smaller than"),
        (MaxPool1d(4, 2), (2, 3, 3), r"MaxPool1d\(kernel_size=4, stride=2\): the input's size \(3,\)"),
    ],
)
def test_bad_input_is_named(pool, shape, message):
    with pytest.raises(ValueError, match=message):
        pool.forward(np.zeros(shape))
    with pytest.raises(ValueError, match=message.split(")")[0].split(r"\(")[0]):
        pool.output_shape(shape[1:])


def test_float32_and_integer_input():
    x = np.arange(24).reshape(1, 2, 3, 4)
    assert AvgPool2d(2).forward(x).dtype == np.float64
    assert AvgPool2d(2).forward(x.astype(np.float32)).dtype == np.float32
    assert MaxPool1d(2).forward(x[0].astype(np.float32)).dtype == np.float32
