"""The in-place update arithmetic shared by the optimizer classes and the notebook's
functions, written with ``out=`` arguments and one scratch array so that an update
allocates nothing. Python floats keep float32 arrays in float32."""

from __future__ import annotations

import numpy as np


def sgd_update(var, grad, velocity, learning_rate, momentum, nesterov, scratch):
    """``velocity = momentum * velocity + learning_rate * grad``; ``var -= velocity``
    (Nesterov: ``var -= momentum * velocity + learning_rate * grad``)."""
    momentum = float(momentum)
    velocity *= momentum
    np.multiply(grad, float(learning_rate), out=scratch)
    velocity += scratch
    if nesterov:
        scratch += momentum * velocity
        var -= scratch
    else:
        var -= velocity


def adam_update(var, grad, m, v, lr_t, beta1, beta2, epsilon, scratch):
    """``m = beta1 m + (1 - beta1) g``; ``v = beta2 v + (1 - beta2) g**2``;
    ``var -= lr_t m / (sqrt(v) + epsilon)``."""
    beta1, beta2 = float(beta1), float(beta2)
    m *= beta1
    np.multiply(grad, 1 - beta1, out=scratch)
    m += scratch
    v *= beta2
    np.multiply(grad, grad, out=scratch)
    scratch *= 1 - beta2
    v += scratch
    np.sqrt(v, out=scratch)
    scratch += float(epsilon)
    np.divide(m, scratch, out=scratch)
    scratch *= float(lr_t)
    var -= scratch
