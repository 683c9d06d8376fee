"""``Embedding``: lookups, gradients that add up over repeated codes, and the checks of
the codes."""

import numpy as np
import pytest

from sknn_scratch import nn
from sknn_scratch.testing import check_module


@pytest.mark.parametrize("shape", [(7,), (5, 3)])
def test_lookup_and_gradient_match_a_loop(shape, rng):
    emb = nn.Embedding(4, 3, rng=0)
    codes = rng.integers(0, 4, size=shape)
    codes.flat[:3] = 2  # a code repeated within the batch
    y = emb.forward(codes)
    assert y.shape == (*shape, 3)
    for index in np.ndindex(shape):
        np.testing.assert_array_equal(y[index], emb.W[codes[index]])
    g = rng.normal(size=y.shape)
    emb.zeroGradParameters()
    grad = emb.backward(codes, g)
    expected = np.zeros_like(emb.W)
    for index in np.ndindex(shape):
        expected[codes[index]] += g[index]
    np.testing.assert_allclose(emb.gradW, expected, rtol=1e-12)
    assert grad.shape == shape and not grad.any() and grad.dtype == np.float64
    emb.backward(codes, g)  # accumulates
    np.testing.assert_allclose(emb.gradW, 2 * expected, rtol=1e-12)


def test_whole_float_codes_work_and_set_the_dtype(rng):
    emb = nn.Embedding(5, 2, rng=0)
    codes = rng.integers(0, 5, size=(4, 2))
    want = emb.forward(codes).copy()
    np.testing.assert_array_equal(emb.forward(codes.astype(np.float64)), want)
    y32 = emb.forward(codes.astype(np.float32))
    assert y32.dtype == emb.W.dtype == np.float32
    np.testing.assert_allclose(y32, want, rtol=1e-6)
    assert emb.forward(codes).dtype == np.float32  # integer codes keep the table's dtype


@pytest.mark.parametrize(
    "codes, error, message",
    [
        (np.array([[0.0, 1.5]]), ValueError, "whole numbers, got 1.5"),
        (np.array([[0.0, np.nan]]), ValueError, "whole numbers, got nan"),
        (np.array([[0, 5]]), ValueError, r"integers in \[0, 5\), got values in \[0, 5\]"),
        (np.array([[-1.0, 2.0]]), ValueError, r"integers in \[0, 5\)"),
        (np.array([[np.inf]]), ValueError, r"integers in \[0, 5\)"),
        (np.array([["a"]]), TypeError, "codes must be integers"),
        (np.zeros((2, 2, 2), dtype=int), ValueError, r"codes of shape \(n_samples,\) or \(n_samples, k\)"),
    ],
)
def test_bad_codes_are_named(codes, error, message):
    emb = nn.Embedding(5, 2, rng=0)
    before = emb.W.copy()
    with pytest.raises(error, match=message):
        emb.forward(codes)
    np.testing.assert_array_equal(emb.W, before)


def test_a_layer_before_the_embedding_gets_a_zero_gradient(rng):
    net = nn.Sequential(nn.Reshape((3,)), nn.Embedding(6, 2, rng=0), nn.Flatten(), nn.Linear(6, 1, rng=1))
    codes = rng.integers(0, 6, size=(4, 3))
    check_module(net, codes, expected_output_shape=(4, 1))
    net.forward(codes)
    assert not net.backward(codes, np.ones((4, 1))).any()


def test_initial_table_is_standard_normal():
    W = nn.Embedding(400, 50, rng=0).W
    assert abs(W.mean()) < 0.01 and abs(W.std() - 1) < 0.01
    np.testing.assert_array_equal(W, nn.Embedding(400, 50, rng=0).W)


def test_declarations_and_shapes():
    emb = nn.Embedding(10, 4)
    assert repr(emb) == "Embedding(10, 4)"
    assert emb._decayed == ("W",) and nn.Embedding.infer_args((3,)) == {}
    assert emb.output_shape(()) == (4,) and emb.output_shape((3,)) == (3, 4)
    with pytest.raises(ValueError, match=r"Embedding\(10, 4\) takes samples of shape \(\) or \(k,\)"):
        emb.output_shape((2, 3))
    with pytest.raises(ValueError, match="n_categories"):
        nn.Embedding(0, 3)
