"""RMSprop: steps scaled by a running mean of the squared gradient."""

from __future__ import annotations

import numpy as np

from .optimizers import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012), as ``torch.optim.RMSprop`` computes it.

    ``v = alpha v + (1 - alpha) g**2``; without momentum ``var -= lr g / (sqrt(v) +
    epsilon)``; with it ``buf = momentum buf + g / (sqrt(v) + epsilon)`` and ``var -= lr
    buf`` (``lr`` times the value's ``lr_factors``).

    Parameters
    ----------
    params, grads : ndarray or lists of ndarrays
        See :class:`Optimizer`.
    learning_rate : float, default=1e-2
    alpha : float, default=0.99
        Decay of the mean square, in [0, 1).
    epsilon : float, default=1e-8
    momentum : float, default=0.0
    **options
        ``lr_factors``, ``decay_factors``, ``clip_norm``, ``schedule``, ``total_steps``
        (see :class:`Optimizer`).

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.optim import RMSprop
    >>> x, g = np.array([1.0, -2.0]), np.zeros(2)
    >>> opt = RMSprop(x, g, learning_rate=0.01, alpha=0.0)
    >>> g[...] = x; opt.step(); x.round(6)  # alpha=0: steps of lr * sign(g)
    array([ 0.99, -1.99])
    """

    _hyperparameters = ("learning_rate", "alpha", "epsilon", "momentum")
    _slots = ("square_avg", "momentum_buffer")

    def __init__(self, params, grads, learning_rate=1e-2, alpha=0.99, epsilon=1e-8, momentum=0.0, **options):
        self._check_hyperparameters({"alpha": alpha, "momentum": momentum})
        super().__init__(params, grads, learning_rate, **options)
        self.alpha, self.epsilon, self.momentum = alpha, epsilon, momentum

    def _check_hyperparameters(self, values):
        if not 0 <= values["alpha"] < 1 or not values["momentum"] >= 0:
            raise ValueError(f"RMSprop needs alpha in [0, 1) and momentum >= 0, got {values}")

    def _update(self, index, var, grad):
        v, buf, scratch = self.state["square_avg"][index], self.state["momentum_buffer"][index], self._scratch[index]
        alpha = float(self.alpha)
        v *= alpha
        np.multiply(grad, grad, out=scratch)
        scratch *= 1 - alpha
        v += scratch
        np.sqrt(v, out=scratch)
        scratch += float(self.epsilon)
        np.divide(grad, scratch, out=scratch)
        if self.momentum:
            buf *= float(self.momentum)
            buf += scratch
            np.multiply(buf, float(self.learning_rate), out=scratch)
        else:
            scratch *= float(self.learning_rate)
        if self.lr_factors[index] is not None:
            scratch *= self.lr_factors[index]
        var -= scratch
