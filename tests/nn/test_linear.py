"""Linear's column-major weights: same values and gradients in any layout."""

import numpy as np
import pytest

from sknn_scratch import NumpyNetClassifier
from sknn_scratch.nn import Linear, ReLU, Sequential


def test_weights_are_column_major_and_products_use_their_transpose():
    layer = Linear(5, 3, rng=0)
    assert layer.W.shape == (3, 5) and layer.W.flags.f_contiguous and layer.W.T.flags.c_contiguous
    assert layer.gradW.flags.f_contiguous
    x = np.random.default_rng(1).normal(size=(4, 5))
    np.testing.assert_allclose(layer.forward(x), x @ np.asarray(layer.W).T + layer.b, rtol=1e-14)


@pytest.mark.parametrize("order", ["C", "F"])
def test_gradients_in_any_weight_layout(order):
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(6, 5)), rng.normal(size=(6, 3))
    layer = Linear(5, 3, rng=0)
    layer.W = np.array(layer.W, order=order)
    layer.gradW = np.full(layer.W.shape, 2.0, order=order)
    layer.gradb[...] = 2.0
    layer.forward(x)
    layer.accGradParameters(x, g)
    np.testing.assert_allclose(layer.gradW, 2.0 + g.T @ x, rtol=1e-13)
    np.testing.assert_allclose(layer.gradb, 2.0 + g.sum(axis=0), rtol=1e-13)
    assert layer.gradW.flags.f_contiguous == (order == "F")


def test_flattened_parameters_keep_values_and_layout_and_share_memory():
    net = Sequential(Linear(4, 6, rng=0), ReLU(), Linear(6, 2, rng=1))
    before = [np.array(p) for p in (net[0].W, net[0].b, net[2].W, net[2].b)]
    net[2].gradb[...] = 3.0
    params, grads = net.flatten_parameters()
    assert params.shape == grads.shape == (4 * 6 + 6 + 6 * 2 + 2,)
    for layer in (net[0], net[2]):
        assert layer.W.flags.f_contiguous and layer.gradW.flags.f_contiguous
        for name in ("W", "b", "gradW", "gradb"):
            assert np.shares_memory(getattr(layer, name), params if "grad" not in name else grads)
    after = [net[0].W, net[0].b, net[2].W, net[2].b]
    for want, got in zip(before, after, strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(net[2].gradb, 3.0)  # gradients keep their values too
    # the vector is the arrays in order, each in its memory order
    np.testing.assert_array_equal(params, np.concatenate([a.ravel(order="K") for a in after]))
    params[:] = 0
    assert not net[0].W.any()  # the modules see changes to the vector


def test_flattening_parameters_of_several_dtypes_is_an_error():
    net = Sequential(Linear(4, 6, rng=0), Linear(6, 2, rng=1, dtype=np.float32))
    with pytest.raises(ValueError, match="several dtypes"):
        net.flatten_parameters()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimator_coefs_are_c_contiguous_views():
    X = np.random.default_rng(0).normal(size=(40, 4))
    clf = NumpyNetClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, np.arange(40) % 2)
    linear = [m for m in clf.network_.leaves() if isinstance(m, Linear)]
    for coef, layer in zip(clf.coefs_, linear, strict=True):
        assert coef.flags.c_contiguous and np.shares_memory(coef, layer.W)
