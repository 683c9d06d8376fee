"""Tests of ``BatchNormalization`` and ``ChannelwiseScaling``: naive references, finite
differences, dtype handling and the seed notebook's defects 3 and 4."""

import copy

import numpy as np
import pytest
from _finite_differences import numeric_grad

from sknn_scratch.nn import BatchNormalization, ChannelwiseScaling

EPS = BatchNormalization.EPS
SHAPES = [(6, 4), (5, 3, 4), (4, 3, 3, 2)]


def naive_batchnorm(x):
    """Per channel (axis 1): mean and biased variance by explicit loops over the elements."""
    C = x.shape[1]
    out = np.empty_like(x)
    means, variances = np.zeros(C), np.zeros(C)
    for c in range(C):
        values = [v for v in np.moveaxis(x, 1, 0)[c].ravel()]
        m = sum(values) / len(values)
        v = sum((value - m) ** 2 for value in values) / len(values)
        means[c], variances[c] = m, v
        np.moveaxis(out, 1, 0)[c] = (np.moveaxis(x, 1, 0)[c] - m) / np.sqrt(v + EPS)
    return out, means, variances


# -- BatchNormalization -----------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
def test_training_forward_matches_naive_statistics(shape):
    x = np.random.default_rng(0).normal(2.0, 3.0, size=shape)
    bn = BatchNormalization(alpha=0.0)
    out = bn.forward(x)
    expected, means, variances = naive_batchnorm(x)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    assert bn.moving_mean.shape == bn.moving_variance.shape == (shape[1],)
    np.testing.assert_allclose(bn.moving_mean, means, rtol=1e-12)
    np.testing.assert_allclose(bn.moving_variance, variances, rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_training_grad_input_matches_finite_differences(shape):
    rng = np.random.default_rng(1)
    x = rng.normal(1.0, 2.0, size=shape)
    R = rng.normal(size=shape)
    bn = BatchNormalization(alpha=0.3)
    bn.forward(x)
    grad = bn.backward(x, R)

    def loss():
        return float(np.sum(bn.forward(x) * R))

    np.testing.assert_allclose(grad, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("shape", SHAPES)
def test_evaluation_grad_input_matches_finite_differences(shape):
    rng = np.random.default_rng(2)
    x = rng.normal(1.0, 2.0, size=shape)
    R = rng.normal(size=shape)
    bn = BatchNormalization(alpha=0.5)
    bn.forward(rng.normal(size=shape))
    bn.evaluate()
    grad = bn.backward(x, R)
    np.testing.assert_allclose(grad, R / np.sqrt(bn.moving_variance + EPS).reshape((1, -1) + (1,) * (len(shape) - 2)))

    def loss():
        return float(np.sum(bn.forward(x) * R))

    np.testing.assert_allclose(grad, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)


def test_4d_input_is_normalised_per_channel():
    # notebook defect 4: only 2-D input was normalised
    rng = np.random.default_rng(3)
    x = (
        rng.normal(size=(8, 3, 5, 5)) * np.array([1.0, 5.0, 0.2])[:, None, None]
        + np.array([-3.0, 0.0, 7.0])[:, None, None]
    )
    bn = BatchNormalization()
    out = bn.forward(x)
    var = x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), var / (var + EPS), rtol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1, atol=0.05)
    np.testing.assert_allclose(bn.moving_mean, x.mean(axis=(0, 2, 3)), rtol=1e-12)


def test_moving_statistics_follow_the_notebook_formula_once_per_forward():
    rng = np.random.default_rng(4)
    x1, x2 = rng.normal(2.0, 1.5, size=(10, 3)), rng.normal(-1.0, 0.5, size=(10, 3))
    a = 0.75
    bn = BatchNormalization(alpha=a)
    assert bn.moving_mean is None and bn.moving_variance is None
    out = bn.forward(x1)
    m1 = a * 0 + (1 - a) * x1.mean(axis=0)
    v1 = a * 1 + (1 - a) * x1.var(axis=0)
    np.testing.assert_allclose(bn.moving_mean, m1, rtol=1e-12)
    np.testing.assert_allclose(bn.moving_variance, v1, rtol=1e-12)
    bn.backward(x1, np.ones_like(out))  # backward never touches the statistics
    bn.updateGradInput(x1.copy(), np.ones_like(out))  # nor when it recomputes them
    np.testing.assert_allclose(bn.moving_mean, m1, rtol=1e-12)
    np.testing.assert_allclose(bn.moving_variance, v1, rtol=1e-12)
    bn.forward(x2)
    np.testing.assert_allclose(bn.moving_mean, a * m1 + (1 - a) * x2.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.moving_variance, a * v1 + (1 - a) * x2.var(axis=0), rtol=1e-12)


@pytest.mark.parametrize("shape", [(7, 3), (4, 3, 2, 2)])
def test_evaluation_uses_moving_statistics_and_does_not_update_them(shape):
    rng = np.random.default_rng(5)
    bn = BatchNormalization(alpha=0.5)
    bn.forward(rng.normal(3.0, 2.0, size=shape))
    bn.forward(rng.normal(3.0, 2.0, size=shape))
    mean, var = bn.moving_mean.copy(), bn.moving_variance.copy()
    bn.evaluate()
    x = rng.normal(size=shape)
    out = bn.forward(x)
    bshape = (1, -1) + (1,) * (len(shape) - 2)
    np.testing.assert_allclose(out, (x - mean.reshape(bshape)) / np.sqrt(var.reshape(bshape) + EPS), rtol=1e-12)
    np.testing.assert_array_equal(bn.forward(x), out)  # deterministic
    np.testing.assert_array_equal(bn.moving_mean, mean)
    np.testing.assert_array_equal(bn.moving_variance, var)


def test_evaluation_before_any_training_uses_mean_zero_variance_one():
    bn = BatchNormalization()
    bn.evaluate()
    x = np.random.default_rng(6).normal(size=(4, 3, 2, 2))
    np.testing.assert_allclose(bn.forward(x), x / np.sqrt(1 + EPS), rtol=1e-12)
    np.testing.assert_allclose(bn.backward(x, np.ones_like(x)), np.ones_like(x) / np.sqrt(1 + EPS))
    assert bn.moving_mean is None and bn.moving_variance is None


def test_backward_on_another_input_uses_that_inputs_statistics():
    rng = np.random.default_rng(7)
    x1, x2 = rng.normal(size=(6, 3)), rng.normal(2.0, 3.0, size=(6, 3))
    R = rng.normal(size=(6, 3))
    bn = BatchNormalization()
    bn.forward(x1)
    fresh = BatchNormalization()
    fresh.forward(x2)
    np.testing.assert_allclose(bn.backward(x2, R), fresh.backward(x2, R), rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_batchnorm_float32_stays_float32(shape):
    rng = np.random.default_rng(8)
    x = rng.normal(1.0, 2.0, size=shape)
    bn32, bn64 = BatchNormalization(alpha=np.float64(0.5)), BatchNormalization(alpha=0.5)
    out32 = bn32.forward(x.astype(np.float32))
    g32 = bn32.backward(x.astype(np.float32), np.ones(shape, dtype=np.float32) * 0.5)
    assert out32.dtype == g32.dtype == bn32.moving_mean.dtype == bn32.moving_variance.dtype == np.float32
    np.testing.assert_allclose(out32, bn64.forward(x), rtol=1e-4, atol=1e-5)
    bn32.evaluate()
    assert bn32.forward(x.astype(np.float32)).dtype == np.float32
    assert bn32.backward(x.astype(np.float32), np.ones(shape, dtype=np.float32)).dtype == np.float32


def test_astype_converts_the_moving_statistics():
    bn = BatchNormalization()
    bn.forward(np.random.default_rng(9).normal(size=(5, 2)))
    bn.astype(np.float32)
    assert bn.moving_mean.dtype == bn.moving_variance.dtype == np.float32


def test_deepcopy_keeps_statistics():
    bn = BatchNormalization(alpha=0.2)
    bn.forward(np.random.default_rng(10).normal(size=(5, 2)))
    clone = copy.deepcopy(bn)
    np.testing.assert_array_equal(clone.moving_mean, bn.moving_mean)


def test_batchnorm_bad_input_raises():
    bn = BatchNormalization()
    with pytest.raises(ValueError, match=r"\(n_samples, features\)"):
        bn.forward(np.zeros(5))
    with pytest.raises(ValueError, match="at least one sample"):
        bn.forward(np.zeros((0, 3)))
    bn.forward(np.random.default_rng(11).normal(size=(4, 3)))
    with pytest.raises(ValueError, match="3 channels"):
        bn.forward(np.zeros((4, 5)))
    bn.evaluate()
    with pytest.raises(ValueError, match="3 channels"):
        bn.forward(np.zeros((4, 5)))


@pytest.mark.parametrize("alpha", [-0.1, 1.5, "0.5", None, True])
def test_batchnorm_bad_alpha_raises(alpha):
    with pytest.raises(ValueError, match="alpha"):
        BatchNormalization(alpha)


def test_batchnorm_notebook_attributes():
    bn = BatchNormalization(0.9)
    assert bn.EPS == BatchNormalization.EPS == 1e-3
    assert bn.alpha == 0.9 and bn.getParameters() == [] and repr(bn) == "BatchNormalization(alpha=0.9)"


# -- ChannelwiseScaling -----------------------------------------------------------------
def naive_scaling(x, gamma, beta):
    out = np.empty_like(x)
    for index in np.ndindex(*x.shape):
        c = index[1]
        out[index] = gamma[c] * x[index] + beta[c]
    return out


@pytest.mark.parametrize("shape", SHAPES)
def test_scaling_forward_and_gradients(shape):
    rng = np.random.default_rng(12)
    C = shape[1]
    cs = ChannelwiseScaling(C)
    cs.gamma[...] = rng.normal(size=C)
    cs.beta[...] = rng.normal(size=C)
    x = rng.normal(size=shape)
    out = cs.forward(x)
    np.testing.assert_allclose(out, naive_scaling(x, cs.gamma, cs.beta), rtol=1e-14)
    R = rng.normal(size=shape)
    cs.zeroGradParameters()
    grad = cs.backward(x, R)

    def loss():
        return float(np.sum(cs.forward(x) * R))

    np.testing.assert_allclose(grad, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(cs.gradGamma, numeric_grad(loss, cs.gamma), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(cs.gradBeta, numeric_grad(loss, cs.beta), rtol=1e-6, atol=1e-8)


def test_scaling_works_on_2d_input_and_has_gradients_from_the_start():
    # notebook defect 3: 4-D input only, and gradients created by the first zeroGradParameters
    cs = ChannelwiseScaling(3)
    grads = cs.getGradParameters()
    assert grads[0] is cs.gradGamma and grads[1] is cs.gradBeta
    assert cs.gradGamma.shape == cs.gradBeta.shape == (3,)
    assert not np.any(cs.gradGamma) and not np.any(cs.gradBeta)
    x = np.arange(12.0).reshape(4, 3)
    out = cs.forward(x)  # no zeroGradParameters before the first backward
    np.testing.assert_array_equal(out, x)
    cs.backward(x, np.ones((4, 3)))
    np.testing.assert_array_equal(cs.gradGamma, x.sum(axis=0))
    np.testing.assert_array_equal(cs.gradBeta, [4, 4, 4])


def test_scaling_gradients_accumulate():
    rng = np.random.default_rng(13)
    cs = ChannelwiseScaling(2)
    x, R = rng.normal(size=(3, 2, 2, 2)), rng.normal(size=(3, 2, 2, 2))
    cs.forward(x)
    cs.backward(x, R)
    once = cs.gradGamma.copy(), cs.gradBeta.copy()
    cs.backward(x, R)
    np.testing.assert_allclose(cs.gradGamma, 2 * once[0], rtol=1e-14)
    np.testing.assert_allclose(cs.gradBeta, 2 * once[1], rtol=1e-14)
    cs.zeroGradParameters()
    assert not np.any(cs.gradGamma) and not np.any(cs.gradBeta)


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4, 4)])
def test_scaling_float32_stays_float32(shape):
    cs = ChannelwiseScaling(3)
    x = np.random.default_rng(14).normal(size=shape).astype(np.float32)
    out = cs.forward(x)
    grad = cs.backward(x, np.ones(shape, dtype=np.float32))
    for array in (out, grad, cs.gamma, cs.beta, cs.gradGamma, cs.gradBeta):
        assert array.dtype == np.float32


def test_scaling_wrong_channels_raise_and_change_nothing():
    cs = ChannelwiseScaling(3)
    with pytest.raises(ValueError, match=r"3 features/channels.*\(4, 5\)"):
        cs.forward(np.zeros((4, 5), dtype=np.float32))
    assert cs.gamma.dtype == np.float64
    with pytest.raises(ValueError):
        cs.forward(np.zeros(3))
    with pytest.raises(ValueError):
        ChannelwiseScaling(0)


def test_scaling_attributes():
    cs = ChannelwiseScaling(4, dtype=np.float32)
    assert cs.n_out == 4 and cs.gamma.dtype == np.float32
    np.testing.assert_array_equal(cs.gamma, 1)
    np.testing.assert_array_equal(cs.beta, 0)
    assert cs.getParameters()[0] is cs.gamma and cs.getParameters()[1] is cs.beta
    assert ChannelwiseScaling.infer_args((4, 5, 5)) == {"n_out": 4}
    assert repr(cs) == "ChannelwiseScaling(4)"


def test_evaluation_in_another_dtype_leaves_the_statistics_alone():
    bn = BatchNormalization()
    bn.forward(np.random.default_rng(15).normal(size=(6, 3)))
    mean = bn.moving_mean
    bn.evaluate()
    out = bn.forward(np.ones((2, 3), dtype=np.float32))
    assert out.dtype == np.float32
    assert bn.moving_mean is mean and mean.dtype == np.float64
    bn.train()
    bn.forward(np.ones((2, 3), dtype=np.float32))  # training follows the input dtype
    assert bn.moving_mean.dtype == bn.moving_variance.dtype == np.float32
