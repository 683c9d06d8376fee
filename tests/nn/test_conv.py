"""Tests of ``Conv2d`` against a naive loop-based convolution and finite differences."""

import numpy as np
import pytest
from _finite_differences import numeric_grad

from sknn_scratch.nn import _kernels
from sknn_scratch.nn.conv import Conv2d


@pytest.fixture(autouse=True, params=["wide", "grid"])
def positions(request, monkeypatch):
    """Every test runs with stride-1 layers on the wide positions and on the output grid
    (which one a layer uses depends on its number of column rows)."""
    monkeypatch.setattr(_kernels, "WIDE_MIN_ROWS", 0 if request.param == "wide" else 10**9)
    return request.param


# (kernel_size, stride, padding, height, width)
CONFIGS = [
    (3, 1, "same", 5, 6),
    (1, 1, "same", 4, 3),
    (5, 1, "same", 6, 5),
    (3, 1, "valid", 5, 4),
    (3, 1, 2, 4, 4),
    (2, 1, 0, 5, 5),
    (2, 1, 1, 4, 5),
    (3, 2, 1, 7, 6),
    (3, 2, 0, 8, 7),
    (2, 2, 0, 5, 6),
    (3, 3, 1, 7, 8),
]


def naive_conv(x, W, b, stride, pad):
    """Direct cross-correlation with explicit zero padding: nested Python loops."""
    N, C, H, Wd = x.shape
    O, _, k, _ = W.shape
    xp = np.zeros((N, C, H + 2 * pad, Wd + 2 * pad))
    xp[:, :, pad : pad + H, pad : pad + Wd] = x
    Ho = (H + 2 * pad - k) // stride + 1
    Wo = (Wd + 2 * pad - k) // stride + 1
    out = np.zeros((N, O, Ho, Wo))
    for n in range(N):
        for o in range(O):
            for h in range(Ho):
                for w in range(Wo):
                    acc = b[o]
                    for c in range(C):
                        for i in range(k):
                            for j in range(k):
                                acc += W[o, c, i, j] * xp[n, c, h * stride + i, w * stride + j]
                    out[n, o, h, w] = acc
    return out


def pad_of(padding, k):
    return {"same": k // 2, "valid": 0}.get(padding, padding)


def make(k, stride, padding, H, W, *, C=2, O=3, N=2, seed=0, bias=True):
    rng = np.random.default_rng(seed)
    conv = Conv2d(C, O, k, stride=stride, padding=padding, bias=bias, rng=rng)
    x = rng.normal(size=(N, C, H, W))
    return conv, x, rng


@pytest.mark.parametrize("k, stride, padding, H, W", CONFIGS)
def test_forward_matches_naive_loops(k, stride, padding, H, W):
    conv, x, _ = make(k, stride, padding, H, W)
    out = conv.forward(x)
    expected = naive_conv(x, conv.W, conv.b, stride, pad_of(padding, k))
    assert out.shape == expected.shape
    assert out.shape == (
        2,
        3,
        (H + 2 * pad_of(padding, k) - k) // stride + 1,
        (W + 2 * pad_of(padding, k) - k) // stride + 1,
    )
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_forward_without_bias_matches_naive():
    conv, x, _ = make(3, 1, "same", 5, 5, bias=False)
    assert not np.any(conv.b)
    np.testing.assert_allclose(conv.forward(x), naive_conv(x, conv.W, np.zeros(3), 1, 1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k, stride, padding, H, W", CONFIGS)
@pytest.mark.parametrize("bias", [True, False])
def test_gradients_match_finite_differences(k, stride, padding, H, W, bias):
    conv, x, rng = make(k, stride, padding, H, W, bias=bias)
    out = conv.forward(x)
    R = rng.normal(size=out.shape)
    conv.zeroGradParameters()
    grad_input = conv.backward(x, R)
    assert grad_input.shape == x.shape

    def loss():
        return float(np.sum(conv.forward(x) * R))

    np.testing.assert_allclose(grad_input, numeric_grad(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(conv.gradW, numeric_grad(loss, conv.W), rtol=1e-6, atol=1e-7)
    if bias:
        np.testing.assert_allclose(conv.gradb, numeric_grad(loss, conv.b), rtol=1e-6, atol=1e-7)
    else:
        assert not np.any(conv.gradb)


@pytest.mark.parametrize("k, stride, padding, H, W", [(3, 1, "same", 6, 6), (3, 2, 1, 7, 6)])
def test_float32_stays_float32(k, stride, padding, H, W):
    conv, x, rng = make(k, stride, padding, H, W)
    ref = Conv2d(2, 3, k, stride=stride, padding=padding, rng=0)
    conv32 = Conv2d(2, 3, k, stride=stride, padding=padding, rng=0)
    x32 = x.astype(np.float32)
    out32 = conv32.forward(x32)
    R = rng.normal(size=out32.shape)
    gin32 = conv32.backward(x32, R.astype(np.float32))
    assert out32.dtype == np.float32
    assert gin32.dtype == np.float32
    for name in ("W", "b", "gradW", "gradb"):
        assert getattr(conv32, name).dtype == np.float32, name
    out64 = ref.forward(x)
    gin64 = ref.backward(x, R)
    np.testing.assert_allclose(out32, out64, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(gin32, gin64, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(conv32.gradW, ref.gradW, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(conv32.gradb, ref.gradb, rtol=1e-4, atol=1e-4)


def test_gradb_and_gradW_accumulate_over_two_backward_calls():
    # notebook defect 2: gradb was assigned, not accumulated
    conv, x, rng = make(3, 1, "same", 5, 5)
    out = conv.forward(x)
    R = rng.normal(size=out.shape)
    conv.zeroGradParameters()
    conv.backward(x, R)
    gW, gb = conv.gradW.copy(), conv.gradb.copy()
    assert np.any(gb)
    conv.backward(x, R)
    np.testing.assert_allclose(conv.gradb, 2 * gb, rtol=1e-12)
    np.testing.assert_allclose(conv.gradW, 2 * gW, rtol=1e-12)
    conv.accGradParameters(x, R)  # the separate API accumulates as well
    np.testing.assert_allclose(conv.gradb, 3 * gb, rtol=1e-12)
    conv.zeroGradParameters()
    assert not np.any(conv.gradW) and not np.any(conv.gradb)


@pytest.mark.parametrize("block_bytes", [1, 2000, 1 << 30])
@pytest.mark.parametrize(
    "k, stride, padding, H, W", [(3, 1, "same", 5, 6), (2, 1, 0, 4, 5), (3, 2, 1, 7, 6), (1, 1, 0, 3, 4)]
)
def test_sample_blocks_do_not_change_results(monkeypatch, block_bytes, k, stride, padding, H, W):
    # small blocks split the batch (one sample per block with 1 byte, a shorter last
    # block with 2000), so that the scratch arrays are shared by blocks of two sizes
    conv, x, rng = make(k, stride, padding, H, W, N=5)
    R = rng.normal(size=conv.forward(x).shape)
    conv.zeroGradParameters()
    ref_out, ref_gin = conv.forward(x).copy(), conv.backward(x, R).copy()
    ref_gW, ref_gb = conv.gradW.copy(), conv.gradb.copy()
    monkeypatch.setattr(_kernels, "BLOCK_BYTES", block_bytes)
    conv.zeroGradParameters()
    out = conv.forward(x)
    np.testing.assert_allclose(out, ref_out, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(conv.backward(x, R), ref_gin, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(conv.gradW, ref_gW, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(conv.gradb, ref_gb, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(out, naive_conv(x, conv.W, conv.b, stride, pad_of(padding, k)), rtol=1e-12, atol=1e-12)


def test_separate_update_and_acc_match_backward():
    conv, x, rng = make(3, 2, 1, 7, 7)
    out = conv.forward(x)
    R = rng.normal(size=out.shape)
    conv.zeroGradParameters()
    gin = conv.backward(x, R).copy()
    gW = conv.gradW.copy()
    conv.zeroGradParameters()
    np.testing.assert_array_equal(conv.updateGradInput(x, R), gin)
    conv.accGradParameters(x, R)
    np.testing.assert_array_equal(conv.gradW, gW)


def test_backward_uses_the_input_it_is_given():
    conv, x, rng = make(3, 1, "same", 5, 5)
    x2 = rng.normal(size=x.shape)
    R = rng.normal(size=(2, 3, 5, 5))
    conv.forward(x)
    conv.zeroGradParameters()
    conv.backward(x2, R)  # not the forward input: its own windows must be used
    fresh = Conv2d(2, 3, 3, rng=0)
    fresh.W[...], fresh.b[...] = conv.W, conv.b
    fresh.forward(x2)
    fresh.backward(x2, R)
    np.testing.assert_allclose(conv.gradW, fresh.gradW, rtol=1e-12)
    # a copy of the forward input is also a different object, and gives the same result
    conv.zeroGradParameters()
    conv.forward(x)
    conv.backward(x.copy(), R)
    ref = conv.gradW.copy()
    conv.zeroGradParameters()
    conv.backward(x, R)
    np.testing.assert_allclose(conv.gradW, ref, rtol=1e-12)


def test_forward_keeps_nothing_but_scratch_and_evaluate_mode_still_differentiates():
    conv, x, rng = make(3, 1, "same", 5, 5)
    conv.evaluate()
    out = conv.forward(x)
    assert [key for key in vars(conv) if key.startswith("_cache")] == ["_cache_work"]
    assert not any(np.shares_memory(out, a) for a in conv._cache_work.values() if isinstance(a, np.ndarray))
    R = rng.normal(size=out.shape)
    gin = conv.backward(x, R)

    def loss():
        return float(np.sum(conv.forward(x) * R))

    np.testing.assert_allclose(gin, numeric_grad(loss, x), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("k", [2, 4])
def test_even_kernel_with_same_padding_raises(k):
    with pytest.raises(ValueError, match="odd kernel_size"):
        Conv2d(1, 1, k)
    with pytest.raises(ValueError, match="odd kernel_size"):
        Conv2d(1, 1, k, padding="same")
    Conv2d(1, 1, k, padding=0)  # an explicit padding is fine


def test_same_padding_with_stride_raises():
    with pytest.raises(ValueError, match="stride=1"):
        Conv2d(1, 1, 3, stride=2)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"padding": -1},
        {"padding": "full"},
        {"padding": 1.5},
        {"stride": 0},
        {"stride": 1.0},
    ],
)
def test_bad_options_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        Conv2d(2, 3, 3, **kwargs)


@pytest.mark.parametrize("args", [(0, 3, 3), (2, 0, 3), (2, 3, 0), (2, 3, True)])
def test_bad_sizes_raise_value_error(args):
    with pytest.raises(ValueError):
        Conv2d(*args)


def test_valid_string_means_zero_padding():
    conv = Conv2d(2, 3, 3, padding="valid", rng=0)
    assert conv.padding == 0
    assert conv.forward(np.zeros((1, 2, 5, 5))).shape == (1, 3, 3, 3)


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 5, 5, 3), (2, 3, 5, 5, 1), (5, 5)])
def test_wrong_input_shape_names_expected_and_actual(shape):
    conv = Conv2d(3, 4, 3, rng=0)
    with pytest.raises(ValueError, match=r"\(n_samples, 3, height, width\)") as info:
        conv.forward(np.zeros(shape))
    assert str(tuple(shape)) in str(info.value)


def test_wrong_input_changes_nothing():
    conv = Conv2d(3, 4, 3, rng=0)
    W = conv.W.copy()
    with pytest.raises(ValueError):
        conv.forward(np.zeros((2, 5, 5, 5), dtype=np.float32))
    assert conv.W.dtype == np.float64
    np.testing.assert_array_equal(conv.W, W)


def test_input_smaller_than_kernel_raises():
    conv = Conv2d(1, 1, 5, padding=0, rng=0)
    with pytest.raises(ValueError, match="smaller than the kernel"):
        conv.forward(np.zeros((1, 1, 4, 6)))
    conv = Conv2d(1, 1, 5, padding=1, rng=0)
    assert conv.forward(np.zeros((1, 1, 3, 3))).shape == (1, 1, 1, 1)  # padded to 5 x 5


def test_wrong_grad_output_shape_raises():
    conv, x, _ = make(3, 1, "same", 5, 5)
    conv.forward(x)
    with pytest.raises(ValueError, match="gradOutput"):
        conv.backward(x, np.zeros((2, 3, 4, 5)))


def test_integer_input_is_cast_to_parameter_dtype():
    conv = Conv2d(1, 2, 3, rng=0)
    x = np.arange(2 * 16).reshape(2, 1, 4, 4)
    out = conv.forward(x)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, naive_conv(x.astype(float), conv.W, conv.b, 1, 1), rtol=1e-12)


def test_default_init_is_the_notebook_uniform():
    conv = Conv2d(4, 6, 3, rng=0)
    bound = 1 / np.sqrt(4)
    assert conv.W.shape == (6, 4, 3, 3) and conv.b.shape == (6,)
    assert np.all(np.abs(conv.W) <= bound) and np.all(np.abs(conv.b) <= bound)
    assert np.abs(conv.W).max() > 0.8 * bound  # not the much smaller 1/sqrt(4*3*3)
    np.testing.assert_array_equal(conv.W, Conv2d(4, 6, 3, rng=0).W)  # reproducible from rng
    assert not np.array_equal(conv.W, Conv2d(4, 6, 3, rng=1).W)


def test_other_initialisers_get_receptive_field_fans():
    seen = {}

    def spy(rng, shape, fan_in, fan_out, dtype):
        seen.setdefault("fans", (fan_in, fan_out))
        return np.full(shape, 0.5, dtype=dtype)

    conv = Conv2d(4, 6, 3, init=spy, rng=0)
    assert seen["fans"] == (4 * 9, 6 * 9)
    assert np.all(conv.W == 0.5)
    conv = Conv2d(4, 6, 3, init="glorot_uniform", rng=0, dtype=np.float32)
    assert conv.W.dtype == np.float32
    assert np.all(np.abs(conv.W) <= np.sqrt(6 / (36 + 54)))


def test_parameters_api_and_repr():
    conv = Conv2d(2, 3, 3, rng=0)
    params, grads = conv.getParameters(), conv.getGradParameters()
    assert params[0] is conv.W and params[1] is conv.b
    assert grads[0] is conv.gradW and grads[1] is conv.gradb
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding) == (2, 3, 3, 1, "same")
    assert repr(conv) == "Conv2d(2, 3, kernel_size=3, padding='same')"  # the default padding is shown too
    assert repr(Conv2d(2, 3, 2, stride=2, padding=0, bias=False)) == (
        "Conv2d(2, 3, kernel_size=2, stride=2, padding=0, bias=False)"
    )


@pytest.mark.parametrize("k, stride, padding, H, W", [(3, 1, "same", 5, 6), (3, 2, 1, 7, 6), (2, 1, 0, 5, 5)])
def test_reused_work_buffers_do_not_leak_between_batches(k, stride, padding, H, W):
    # the padded input and the columns are scratch arrays reused by the next batch: every
    # batch (of any size) must match a fresh layer, and earlier outputs and input
    # gradients must stay untouched (the estimators overwrite them in place)
    conv, x, rng = make(k, stride, padding, H, W, N=3)
    batches = [x, rng.normal(size=x.shape), rng.normal(size=(5,) + x.shape[1:]), rng.normal(size=x.shape)]
    results = []
    for xb in batches:
        out = conv.forward(xb)
        R = rng.normal(size=out.shape)
        conv.zeroGradParameters()
        gin = conv.backward(xb, R)
        fresh = Conv2d(2, 3, k, stride=stride, padding=padding, rng=0)
        fresh.W[...], fresh.b[...] = conv.W, conv.b
        np.testing.assert_allclose(out, fresh.forward(xb), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(gin, fresh.backward(xb, R), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(conv.gradW, fresh.gradW, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(conv.gradb, fresh.gradb, rtol=1e-12, atol=1e-12)
        results.append((out, out.copy(), gin, gin.copy()))
    for out, out_copy, gin, gin_copy in results:
        np.testing.assert_array_equal(out, out_copy)
        np.testing.assert_array_equal(gin, gin_copy)
    out.fill(7.0)  # overwriting the last output (an in-place ReLU does) changes no gradient
    conv.zeroGradParameters()
    conv.backward(batches[-1], R)
    np.testing.assert_allclose(conv.gradW, fresh.gradW, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride, padding", [(1, 1), (1, 0), (2, 1)])
def test_a_new_image_size_with_the_same_scratch_shapes_matches_a_fresh_layer(stride, padding):
    # (2, 4) then (4, 2) pad to buffers of the same shape, (4, 6) then (7, 4) give output
    # gradients of the same length: the zero parts of the reused scratch arrays must move
    rng = np.random.default_rng(0)
    conv = Conv2d(2, 3, 3, stride=stride, padding=padding, rng=0)
    for size in [(2, 4), (4, 2), (4, 6), (7, 4), (4, 6)]:
        if min(size) + 2 * padding < 3:
            continue
        x = rng.normal(size=(3, 2, *size))
        fresh = Conv2d(2, 3, 3, stride=stride, padding=padding, rng=0)
        out = conv.forward(x)
        np.testing.assert_allclose(out, fresh.forward(x), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(out, naive_conv(x, conv.W, conv.b, stride, padding), rtol=1e-12, atol=1e-12)
        R = rng.normal(size=out.shape)
        conv.zeroGradParameters()
        np.testing.assert_allclose(conv.backward(x, R), fresh.backward(x, R), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(conv.gradW, fresh.gradW, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(conv.gradb, fresh.gradb, rtol=1e-12, atol=1e-12)


def test_pickles_and_copies_leave_out_the_scratch_arrays():
    import copy
    import pickle

    conv, x, rng = make(3, 1, "same", 30, 30, N=8)
    conv.backward(x, rng.normal(size=conv.forward(x).shape))
    assert conv._cache_work
    for twin in (pickle.loads(pickle.dumps(conv)), copy.deepcopy(conv)):
        assert twin._cache_work is None
        np.testing.assert_allclose(twin.forward(x), conv.forward(x), rtol=1e-12)
    assert len(pickle.dumps(conv)) < 3 * x.nbytes  # the output, not the scratch arrays


def test_few_column_rows_use_the_output_grid_and_every_output_is_contiguous(monkeypatch):
    monkeypatch.undo()  # the library's own choice, not the fixture's
    assert _kernels.ConvGeometry((2, 1, 6, 6), 3, 1, 1, True).wide is False  # 9 rows: the grid
    assert _kernels.ConvGeometry((2, 8, 6, 6), 3, 1, 1, True).wide is True  # 72 rows: wide
    for C in (1, 8):
        conv = Conv2d(C, 4, 3, rng=0)
        x = np.random.default_rng(0).normal(size=(2, C, 6, 6))
        out = conv.forward(x)
        assert out.flags.c_contiguous and out.shape == (2, 4, 6, 6)
        assert conv.backward(x, np.ones_like(out)).flags.c_contiguous
