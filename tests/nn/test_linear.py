"""Linear's column-major weights: same values and gradients in any layout."""

import numpy as np
import pytest

import sknn_scratch.estimators._base as base
from sknn_scratch import NumpyNetClassifier
from sknn_scratch.nn import Linear, ReLU, Sequential
from sknn_scratch.optim import Adam


def test_weights_are_column_major_and_products_use_their_transpose():
    layer = Linear(5, 3, rng=0)
    assert layer.W.shape == (3, 5) and layer.W.flags.f_contiguous and layer.W.T.flags.c_contiguous
    assert layer.gradW.flags.f_contiguous
    x = np.random.default_rng(1).normal(size=(4, 5))
    np.testing.assert_allclose(layer.forward(x), x @ np.asarray(layer.W).T + layer.b, rtol=1e-14)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("setting", [False, True])
def test_gradients_in_any_weight_layout(order, setting):
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(6, 5)), rng.normal(size=(6, 3))
    layer = Linear(5, 3, rng=0)
    layer.W = np.array(layer.W, order=order)
    layer.gradW = np.full(layer.W.shape, 2.0, order=order)
    layer.gradb[...] = 2.0
    layer.forward(x)
    if setting:
        layer.setGradParameters(x, g)
        base_value = 0.0
    else:
        layer.accGradParameters(x, g)
        base_value = 2.0
    np.testing.assert_allclose(layer.gradW, base_value + g.T @ x, rtol=1e-13)
    np.testing.assert_allclose(layer.gradb, base_value + g.sum(axis=0), rtol=1e-13)
    assert layer.gradW.flags.f_contiguous == (order == "F")


def test_packed_views_keep_the_layout_and_share_memory():
    net = Sequential(Linear(4, 6, rng=0), ReLU(), Linear(6, 2, rng=1))
    before = [np.array(m.W) for m in (net[0], net[2])]
    packed = base._Packed(net, np.float64)
    for layer, want in zip((net[0], net[2]), before, strict=True):
        assert layer.W.flags.f_contiguous and layer.gradW.flags.f_contiguous
        assert np.shares_memory(layer.W, packed.params) and np.shares_memory(layer.gradW, packed.grads)
        np.testing.assert_array_equal(layer.W, want)
    # MLP's packing: each coefs_ matrix (n_in, n_out) raveled, then the intercepts
    coefs = [np.asarray(m.W).T for m in (net[0], net[2])]
    np.testing.assert_array_equal(packed.decay_params, np.concatenate([c.ravel() for c in coefs]))


def test_optimizer_chunks_column_major_parameters_like_the_whole(monkeypatch):
    from sknn_scratch.optim import optimizers

    rng = np.random.default_rng(0)
    params = [np.asfortranarray(rng.normal(size=(30, 20)))]
    grads = [np.asfortranarray(rng.normal(size=(30, 20)))]
    whole, chunked = [params[0].copy(order="K")], [params[0].copy(order="K")]
    Adam(0.01).step(whole, grads)
    monkeypatch.setattr(optimizers, "CHUNK_BYTES", 8 * 50)
    calls = []
    original = optimizers.adam_step_scaled
    monkeypatch.setattr(optimizers, "adam_step_scaled", lambda *a: calls.append(1) or original(*a))
    opt = Adam(0.01)
    opt.step(chunked, grads)
    assert len(calls) == 12  # 600 values in chunks of 50: the layout did not force one whole pass
    assert opt.state["m"][0].flags.f_contiguous
    np.testing.assert_array_equal(whole[0], chunked[0])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimator_coefs_are_c_contiguous_views():
    X = np.random.default_rng(0).normal(size=(40, 4))
    clf = NumpyNetClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, np.arange(40) % 2)
    for coef, layer in zip(clf.coefs_, clf._linear_layers(), strict=True):
        assert coef.flags.c_contiguous and np.shares_memory(coef, layer.W)
