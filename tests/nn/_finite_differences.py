"""Central finite differences, written out independently of ``sknn_scratch.testing``."""

import numpy as np


def numeric_grad(fun, arr, eps=1e-6):
    """d fun() / d arr by central differences; ``arr`` is perturbed in place and restored."""
    grad = np.zeros(arr.shape)
    flat, gflat = arr.reshape(-1), grad.reshape(-1)
    for idx in range(flat.size):
        orig = flat[idx]
        flat[idx] = orig + eps
        plus = fun()
        flat[idx] = orig - eps
        minus = fun()
        flat[idx] = orig
        gflat[idx] = (plus - minus) / (2 * eps)
    return grad
