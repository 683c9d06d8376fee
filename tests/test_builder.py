"""How the estimators assemble their network from ``layers``."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sknn_scratch import NumpyNetClassifier
from sknn_scratch.nn import ReLU


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_network_runs_a_monotone_activation_after_the_max_pooling_written_after_it(activation):
    X, y = load_digits(return_X_y=True)
    layers = [("conv2d", {"out_channels": 3, "kernel_size": 3}), activation, ("maxpool2d", {"kernel_size": 2})]
    est = NumpyNetClassifier(layers=layers, input_shape=(1, 8, 8), max_iter=1, random_state=0)
    est.fit(X[:60] / 16, y[:60])
    kinds = [type(m).__name__ for m in est.network_]
    act = {"relu": "ReLU", "tanh": "Tanh", "logistic": "Sigmoid"}[activation]
    assert kinds == ["Reshape", "Conv2d", "MaxPool2d", act, "Flatten", "Linear"]


def test_inplace_activation_backward_overwrites_only_contiguous_gradients():
    x = np.array([[-1.0, 2.0, 3.0, -4.0], [5.0, -6.0, 0.0, 8.0]])
    expected = (x > 0).astype(float)
    relu = ReLU(inplace=True)
    relu.forward(x.copy())
    g = np.ones((2, 4))
    assert relu.backward(x, g) is g  # contiguous: written in place
    np.testing.assert_array_equal(g, expected)
    wide = np.ones((2, 6))
    view = wide[:, 1:5]
    assert not view.flags.c_contiguous
    got = relu.backward(x, view)
    assert got is not view and got.flags.c_contiguous
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(wide, np.ones((2, 6)))  # the strided view is untouched


def test_the_reordered_network_computes_the_same_function_and_gradients():
    import copy

    from sknn_scratch.estimators._builder import _faster_order
    from sknn_scratch.nn import Conv2d, Flatten, Linear, MaxPool2d, Sequential, Sigmoid, Tanh

    X = load_digits().images[:16, None] / 16  # zero borders: windows full of ties
    X[:, :, 2:4, 2:4] = 0.5  # and ties between positive values
    rng = np.random.default_rng(0)
    for act in (ReLU, Sigmoid, Tanh):
        given = Sequential(Conv2d(1, 4, 3, rng=rng), act(), MaxPool2d(2), Flatten(), Linear(64, 3, rng=rng))
        twin = copy.deepcopy(given)
        swapped = Sequential(*_faster_order(twin.modules))
        assert [type(m) for m in swapped.modules[:3]] == [Conv2d, MaxPool2d, act]
        out = given.forward(X)
        np.testing.assert_allclose(swapped.forward(X), out, rtol=1e-12, atol=1e-15)
        grad_out = rng.standard_normal(out.shape)
        for net in (given, swapped):
            net.zeroGradParameters()
            net.backward(X, grad_out)
        np.testing.assert_allclose(swapped.gradInput, given.gradInput, rtol=1e-12, atol=1e-15)
        for a, b in zip(twin.leaves(), given.leaves(), strict=True):
            for ga, gb in zip(a.getGradParameters(), b.getGradParameters(), strict=True):
                np.testing.assert_allclose(ga, gb, rtol=1e-12, atol=1e-15)
    plain = [MaxPool2d(2), ReLU(), Conv2d(1, 1, 3)]
    assert _faster_order(plain) == plain


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
@pytest.mark.parametrize("chunk_bytes", [1, 5000, 1 << 30])
def test_prediction_in_chunks_equals_the_network_on_the_whole_input(monkeypatch, activation, chunk_bytes):
    # prediction runs in chunks of rows (the first of _PREDICT_FIRST rows, then as many as
    # _PREDICT_BYTES allow): the scores must be those of the network on the whole input,
    # every row once, in order
    import sknn_scratch.estimators._base as base

    X, y = load_digits(return_X_y=True)
    X = X[:150] / 16
    layers = [("conv2d", {"out_channels": 3, "kernel_size": 3}), activation, ("maxpool2d", {"kernel_size": 2})]
    est = NumpyNetClassifier(layers=layers, input_shape=(1, 8, 8), max_iter=2, random_state=0).fit(X, y[:150])
    net = est.network_
    net.evaluate()
    expected = np.exp(net.forward(X)) if est.out_activation_ == "softmax" else None
    net.train()
    monkeypatch.setattr(base, "_PREDICT_FIRST", 7)
    monkeypatch.setattr(base, "_PREDICT_BYTES", chunk_bytes)
    forwards = []
    real = type(net).forward
    monkeypatch.setattr(type(net), "forward", lambda self, x: forwards.append(len(x)) or real(self, x))
    proba = est.predict_proba(X)
    assert sum(forwards) == len(X) and forwards[0] == 7
    if chunk_bytes == 1:  # the smallest chunks: _PREDICT_FIRST rows each
        assert set(forwards[:-1]) == {7}
    if chunk_bytes == 1 << 30:  # two passes: the first rows, then the rest at once
        assert forwards == [7, len(X) - 7]
    np.testing.assert_allclose(proba, expected / expected.sum(axis=1, keepdims=True), rtol=1e-10, atol=1e-12)
    assert [type(m).__name__ for m in est.network_][1:4] == ["Conv2d", "MaxPool2d", type(net.modules[3]).__name__]
