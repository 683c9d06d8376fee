"""AdamW: Adam with decoupled weight decay."""

from __future__ import annotations

import math

import numpy as np

from .optimizers import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as
    ``torch.optim.AdamW`` computes it.

    At step ``t``, with ``lr`` the learning rate times the value's ``lr_factors`` and
    ``d`` its ``decay_factors`` (1 without them)::

        var *= 1 - lr * weight_decay * d
        m = beta_1 m + (1 - beta_1) g;  v = beta_2 v + (1 - beta_2) g**2
        var -= lr / (1 - beta_1**t) * m / (sqrt(v / (1 - beta_2**t)) + epsilon)

    The decay shrinks the weights directly instead of entering the gradient, so it is
    not rescaled by Adam's per-value step sizes. (The estimators give biases and
    normalisation parameters ``d = 0``: see :meth:`~sknn_scratch.nn.Module.parameter_factors`.)

    Parameters
    ----------
    params, grads : ndarray or lists of ndarrays
        See :class:`Optimizer`.
    learning_rate : float, default=1e-3
    beta_1, beta_2 : float, default=0.9, 0.999
    epsilon : float, default=1e-8
    weight_decay : float, default=0.01
    **options
        ``lr_factors``, ``decay_factors``, ``clip_norm``, ``schedule``, ``total_steps``
        (see :class:`Optimizer`).

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.optim import AdamW
    >>> x, g = np.array([1.0, -2.0]), np.zeros(2)
    >>> opt = AdamW(x, g, learning_rate=0.1, weight_decay=0.5)
    >>> opt.step(); x  # a zero gradient: only the decay, x * (1 - 0.1 * 0.5)
    array([ 0.95, -1.9 ])
    """

    _hyperparameters = ("learning_rate", "beta_1", "beta_2", "epsilon", "weight_decay")

    def __init__(
        self, params, grads, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8, weight_decay=0.01, **options
    ):
        self._check_hyperparameters({"beta_1": beta_1, "beta_2": beta_2, "weight_decay": weight_decay})
        super().__init__(params, grads, learning_rate, beta_1, beta_2, epsilon, **options)
        self.weight_decay = weight_decay

    def _check_hyperparameters(self, values):
        super()._check_hyperparameters(values)
        weight_decay = values.get("weight_decay", 0.0)
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")

    def _update(self, index, var, grad):
        m, v, scratch = self.state["m"][index], self.state["v"][index], self._scratch[index]
        lr, lr_factors = float(self.learning_rate), self.lr_factors[index]
        beta1, beta2, t = float(self.beta_1), float(self.beta_2), self.t
        # decoupled decay: var *= 1 - lr * lr_factor * weight_decay * decay_factor
        decay = lr * float(self.weight_decay)
        if decay:
            factors = self.decay_factors[index]
            if factors is None and lr_factors is None:
                var *= 1 - decay
            else:
                np.multiply(var, decay, out=scratch)
                for f in (factors, lr_factors):
                    if f is not None:
                        scratch *= f
                var -= scratch
        # moments, then the step lr / bc1 * m / (sqrt(v) / sqrt(bc2) + epsilon)
        m *= beta1
        np.multiply(grad, 1 - beta1, out=scratch)
        m += scratch
        v *= beta2
        np.multiply(grad, grad, out=scratch)
        scratch *= 1 - beta2
        v += scratch
        np.sqrt(v, out=scratch)
        scratch *= 1 / math.sqrt(1 - beta2**t)
        scratch += float(self.epsilon)
        np.divide(m, scratch, out=scratch)
        scratch *= lr / (1 - beta1**t)
        if lr_factors is not None:
            scratch *= lr_factors
        var -= scratch
