"""Functional optimizers: ``f(variables, gradients, config, state)``, the caller keeping the state.

``variables`` and ``gradients`` are the nested lists returned by
``Sequential.getParameters()`` and ``Sequential.getGradParameters()``; parameters are
updated in place and ``state`` (a dict owned by the caller) keeps the moments between
calls, keyed by the position of each variable.
"""

from __future__ import annotations

import numpy as np

from .optimizers import _adam_update, _sgd_update, adam_lr, flatten_pairs

__all__ = ["sgd_momentum", "adam"]


def sgd_momentum(variables, gradients, config, state):
    """SGD with momentum.

    ``config`` holds ``learning_rate`` and ``momentum`` (and optionally ``nesterov``).
    The update is ``v = momentum * v + learning_rate * g; var -= v``: the velocity
    includes the learning rate (Torch7's and scikit-learn's form), which is not the
    exponential average ``v = beta v + (1 - beta) g`` some texts write.
    """
    buffers = state.setdefault("accumulated_grads", {})
    for index, (var, grad) in enumerate(flatten_pairs(variables, gradients)):
        velocity = buffers.get(index)
        if velocity is None:
            velocity = buffers[index] = np.zeros_like(grad)
        nesterov = config.get("nesterov", False)
        _sgd_update(var, grad, velocity, config["learning_rate"], config["momentum"], nesterov, np.empty_like(var))


def adam(variables, gradients, config, state):
    """Adam with scikit-learn's bias correction: ``config`` holds ``learning_rate``, ``beta1``, ``beta2``
    and ``epsilon``; ``state`` keeps ``m``, ``v`` (dicts by variable position) and ``t``."""
    state.setdefault("m", {})
    state.setdefault("v", {})
    state["t"] = state.get("t", 0) + 1
    b1, b2 = config["beta1"], config["beta2"]
    lr_t = adam_lr(config["learning_rate"], b1, b2, state["t"])
    for index, (var, grad) in enumerate(flatten_pairs(variables, gradients)):
        m = state["m"].setdefault(index, np.zeros_like(grad))
        v = state["v"].setdefault(index, np.zeros_like(grad))
        _adam_update(var, grad, m, v, lr_t, b1, b2, config["epsilon"], np.empty_like(var))
