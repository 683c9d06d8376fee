"""TabularInput: numbers through their module, each code column through its own table."""

import copy
import pickle

import numpy as np
import pytest

from sknn_scratch import nn
from sknn_scratch.testing import check_module


def _layer(dtype=np.float64):
    numeric = nn.NumericEmbedding(2, n_frequencies=4, sigma=0.5, rng=0, dtype=dtype)
    return nn.TabularInput(2, cardinalities=[3, 4], embedding_dim=2, numeric=numeric, rng=1, dtype=dtype)


def _rows(rng, n=5):
    return np.column_stack([rng.normal(size=(n, 2)), rng.integers(0, 3, n), rng.integers(0, 4, n)])


def test_the_output_is_the_numbers_embedding_then_each_columns_vector():
    layer = _layer()
    x = _rows(np.random.default_rng(0))
    out = layer.forward(x)
    assert out.shape == (5, 2 * 4 + 2 * 2) == (5, *layer.output_shape((4,)))
    np.testing.assert_array_equal(out[:, :8], layer.numeric.forward(x[:, :2]))
    table = layer.categories.W
    np.testing.assert_array_equal(out[:, 8:10], table[x[:, 2].astype(int)])
    np.testing.assert_array_equal(out[:, 10:12], table[3 + x[:, 3].astype(int)])  # the second table's offset


def test_gradients_against_finite_differences_and_none_for_codes():
    rng = np.random.default_rng(1)
    layer = _layer()
    x = _rows(rng)
    R = rng.normal(size=layer.forward(x).shape)
    layer.zeroGradParameters() if hasattr(layer, "zeroGradParameters") else None
    for leaf in layer.leaves():
        leaf.zeroGradParameters()
    grad_in = layer.backward(x, R.copy())
    assert not grad_in[:, 2:].any()  # codes have no gradient
    params, grads = layer.flatten_parameters()
    analytic = grads.copy()
    numeric = np.empty_like(params)
    for i in range(params.size):
        keep = params[i]
        params[i] = keep + 1e-6
        up = float(np.sum(layer.forward(x) * R))
        params[i] = keep - 1e-6
        down = float(np.sum(layer.forward(x) * R))
        params[i] = keep
        numeric[i] = (up - down) / 2e-6
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
    for j in range(2):  # the numbers' input gradient
        dx = np.zeros_like(x)
        dx[:, j] = 1e-6
        up, down = float(np.sum(layer.forward(x + dx) * R)), float(np.sum(layer.forward(x - dx) * R))
        np.testing.assert_allclose(grad_in[:, j].sum(), (up - down) / 2e-6, rtol=1e-5)


def test_float32_pickling_inference_copies_and_bad_codes():
    layer = _layer(np.float32)
    x = _rows(np.random.default_rng(2)).astype(np.float32)
    out = layer.forward(x)
    assert out.dtype == np.float32
    layer.evaluate()
    expected = layer.forward(x)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(layer)).forward(x), expected)
    np.testing.assert_array_equal(layer.inference_copy().forward(x), expected)
    np.testing.assert_array_equal(copy.deepcopy(layer).forward(x), expected)
    bad = x.copy()
    bad[0, 3] = 4  # the second column has 4 categories: codes 0..3
    with pytest.raises(ValueError, match="codes"):
        layer.forward(bad)
    with pytest.raises(ValueError, match="rows of 4 values"):
        layer.forward(x[:, :3])


def test_plain_values_pass_as_they_are_between_the_numbers_and_the_codes():
    numeric = nn.NumericEmbedding(2, n_frequencies=4, sigma=0.5, rng=0)
    layer = nn.TabularInput(2, cardinalities=[3], embedding_dim=2, numeric=numeric, n_plain=2, rng=1)
    rng = np.random.default_rng(3)
    x = np.column_stack([rng.normal(size=(5, 4)), rng.integers(0, 3, 5)])
    out = layer.forward(x)
    assert out.shape == (5, 2 * 4 + 2 + 2) == (5, *layer.output_shape((5,)))
    np.testing.assert_array_equal(out[:, :8], numeric.forward(x[:, :2]))
    np.testing.assert_array_equal(out[:, 8:10], x[:, 2:4])
    np.testing.assert_array_equal(out[:, 10:], layer.categories.W[x[:, 4].astype(int)])
    R = rng.normal(size=out.shape)
    grad_in = layer.backward(x, R)
    np.testing.assert_array_equal(grad_in[:, 2:4], R[:, 8:10])  # the identity's gradient
    assert not grad_in[:, 4].any()
    assert "n_plain=2" in repr(layer)
    with pytest.raises(ValueError, match="rows of 5 values"):
        layer.forward(x[:, :4])


def test_plain_values_pass_the_public_checker():
    numeric = nn.NumericEmbedding(2, n_frequencies=4, sigma=0.5, rng=0)
    layer = nn.TabularInput(2, numeric=numeric, n_plain=3)
    check_module(layer, np.random.default_rng(4).normal(size=(6, 5)), expected_output_shape=(6, 2 * 4 + 3))
    check_module(nn.TabularInput(0, n_plain=3), np.random.default_rng(5).normal(size=(4, 3)))
