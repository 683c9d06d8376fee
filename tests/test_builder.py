"""How the estimators assemble their network from ``layers``."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sknn_scratch import NumpyNetClassifier
from sknn_scratch.nn import ReLU


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_network_shows_the_layers_in_the_order_written(activation):
    X, y = load_digits(return_X_y=True)
    layers = [("conv2d", {"out_channels": 3, "kernel_size": 3}), activation, ("maxpool2d", {"kernel_size": 2})]
    est = NumpyNetClassifier(layers=layers, input_shape=(1, 8, 8), max_iter=1, random_state=0)
    est.fit(X[:60] / 16, y[:60])
    kinds = [type(m).__name__ for m in est.network_]
    act = {"relu": "ReLU", "tanh": "Tanh", "logistic": "Sigmoid"}[activation]
    assert kinds == ["Reshape", "Conv2d", act, "MaxPool2d", "Flatten", "Linear"]
    assert "inplace" not in repr(est.network_)


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
