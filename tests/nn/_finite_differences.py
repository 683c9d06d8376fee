"""Central finite differences, written out independently of ``sknn_scratch.testing``."""

import numpy as np


def numeric_grad(fun, arr, eps=1e-6):
    """d fun() / d arr by central differences; ``arr`` is perturbed in place and restored."""
    grad = np.zeros(arr.shape)
    for idx in np.ndindex(arr.shape):  # in place whatever the memory layout
        orig = arr[idx]
        arr[idx] = orig + eps
        plus = fun()
        arr[idx] = orig - eps
        minus = fun()
        arr[idx] = orig
        grad[idx] = (plus - minus) / (2 * eps)
    return grad
