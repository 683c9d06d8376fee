"""Optimizer classes: bound to the parameters at construction, then ``step()``.

An optimizer updates parameter arrays in place from their gradient arrays, which the
training loop refills before every step. Give it the two vectors of
:meth:`~sknn_scratch.nn.Module.flatten_parameters` (the whole network updated by a few
operations on two arrays), or aligned lists of arrays (as ``getParameters()`` and
``getGradParameters()`` return them)::

    params, grads = net.flatten_parameters()
    optimizer = Adam(params, grads, learning_rate=1e-3)
    for x_batch, y_batch in batches:
        ...  # forward, loss, backward: fills grads
        optimizer.step()

:meth:`Optimizer.state_dict` and :meth:`Optimizer.load_state_dict` carry the
hyperparameters and the state (moments, step count) from one optimizer to another,
as plain values.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["Optimizer", "SGD", "Adam", "flatten_pairs"]


def flatten_pairs(variables, gradients):
    """Pair parameters with gradients, flattening the notebook's nested lists."""
    if isinstance(variables, np.ndarray):
        variables, gradients = [variables], [gradients]
    out = []
    for var, grad in zip(variables, gradients, strict=True):
        if isinstance(var, (list, tuple)):
            out.extend(flatten_pairs(var, grad))
        else:
            if var.shape != grad.shape:
                raise ValueError(f"parameter of shape {var.shape} has a gradient of shape {grad.shape}")
            out.append((var, grad))
    return out


class Optimizer:
    """Base class of the optimizers.

    Parameters
    ----------
    params, grads : ndarray or lists of ndarrays
        The parameters (updated in place by :meth:`step`) and their gradients: two
        aligned arrays or lists (flat, or nested as ``Sequential.getParameters()``
        returns them).
    learning_rate : float
        The step size (a schedule may change the attribute between steps).
    """

    #: names of the hyperparameters (constructor arguments after params and grads)
    _hyperparameters: tuple[str, ...] = ("learning_rate",)
    #: names of the per-parameter state arrays carried from one step to the next
    _slots: tuple[str, ...] = ()

    def __init__(self, params, grads, learning_rate):
        self.pairs = flatten_pairs(params, grads)
        for index, (var, _) in enumerate(self.pairs):
            if not var.flags.writeable:
                raise ValueError(
                    f"parameter {index} is read-only (e.g. loaded from a memory map); copy it before training"
                )
        self.learning_rate = learning_rate
        self.t = 0
        self.state = {name: [np.zeros_like(var) for var, _ in self.pairs] for name in self._slots}
        self._scratch = [np.empty_like(var) for var, _ in self.pairs]

    def step(self):
        """Update every parameter in place from its gradient."""
        self.t += 1
        for index, (var, grad) in enumerate(self.pairs):
            self._update(index, var, grad)

    def _update(self, index, var, grad):  # pragma: no cover - abstract
        raise NotImplementedError

    def state_dict(self):
        """The hyperparameters, the step count ``t`` and the state arrays (the
        optimizer's own, not copies), as a dict of plain values."""
        out = {name: getattr(self, name) for name in self._hyperparameters}
        out["t"] = self.t
        out.update({name: list(arrays) for name, arrays in self.state.items()})
        return out

    def load_state_dict(self, state):
        """Take the hyperparameters, step count and state arrays (copied) of
        :meth:`state_dict`. Everything is checked first: on an error nothing changes."""
        missing = [k for k in (*self._hyperparameters, "t", *self._slots) if k not in state]
        if missing:
            raise ValueError(f"{type(self).__name__}.load_state_dict: the state lacks {missing}")
        for name in self._slots:
            shapes = [np.shape(a) for a in state[name]]
            if shapes != [var.shape for var, _ in self.pairs]:
                raise ValueError(f"the state {name!r} does not match the shapes of the parameters")
        t = state["t"]
        if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 0:
            raise ValueError(f"the step count t must be an integer >= 0, got {t!r}")
        self._check_hyperparameters({name: state[name] for name in self._hyperparameters})
        for name in self._hyperparameters:
            setattr(self, name, state[name])
        self.t = int(t)
        for name in self._slots:
            for own, saved in zip(self.state[name], state[name], strict=True):
                own[...] = saved

    def _check_hyperparameters(self, values):
        """Raise ValueError for hyperparameters the constructor would refuse."""

    def __repr__(self):
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._hyperparameters)
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

    ``velocity = momentum * velocity + learning_rate * grad`` and ``var -= velocity``
    (with Nesterov: ``var -= momentum * velocity + learning_rate * grad``): the seed
    notebook's update, equal to scikit-learn's MLP update with the velocity's sign
    flipped.

    Parameters
    ----------
    params, grads : ndarray or lists of ndarrays
        See :class:`Optimizer`.
    learning_rate : float, default=0.01
    momentum : float, default=0.0
    nesterov : bool, default=False
    """

    _hyperparameters = ("learning_rate", "momentum", "nesterov")
    _slots = ("velocity",)

    def __init__(self, params, grads, learning_rate=0.01, momentum=0.0, nesterov=False):
        super().__init__(params, grads, learning_rate)
        self.momentum = momentum
        self.nesterov = nesterov

    def _update(self, index, var, grad):
        velocity = self.state["velocity"][index]
        _sgd_update(var, grad, velocity, self.learning_rate, self.momentum, self.nesterov, self._scratch[index])


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with scikit-learn's bias correction.

    ``m = beta_1 m + (1 - beta_1) g``, ``v = beta_2 v + (1 - beta_2) g**2`` and
    ``var -= lr_t m / (sqrt(v) + epsilon)`` with
    ``lr_t = learning_rate sqrt(1 - beta_2**t) / (1 - beta_1**t)`` at step ``t``.

    Parameters
    ----------
    params, grads : ndarray or lists of ndarrays
        See :class:`Optimizer`.
    learning_rate : float, default=1e-3
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of the moments, in [0, 1).
    epsilon : float, default=1e-8
    """

    _hyperparameters = ("learning_rate", "beta_1", "beta_2", "epsilon")
    _slots = ("m", "v")

    def __init__(self, params, grads, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self._check_hyperparameters({"beta_1": beta_1, "beta_2": beta_2})
        super().__init__(params, grads, learning_rate)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _check_hyperparameters(self, values):
        beta_1, beta_2 = values["beta_1"], values["beta_2"]
        if not (0 <= beta_1 < 1 and 0 <= beta_2 < 1):
            raise ValueError(f"beta_1 and beta_2 must be in [0, 1), got beta_1={beta_1!r}, beta_2={beta_2!r}")

    def step(self):
        self._lr_t = adam_lr(self.learning_rate, self.beta_1, self.beta_2, self.t + 1)
        super().step()

    def _update(self, index, var, grad):
        m, v = self.state["m"][index], self.state["v"][index]
        _adam_update(var, grad, m, v, self._lr_t, self.beta_1, self.beta_2, self.epsilon, self._scratch[index])


def adam_lr(learning_rate, beta1, beta2, t):
    """Adam's bias-corrected step size ``lr * sqrt(1 - beta2**t) / (1 - beta1**t)``, a Python float."""
    return float(learning_rate) * math.sqrt(1 - beta2**t) / (1 - beta1**t)


# -- the in-place update arithmetic, shared with the notebook's functions: ``out=``
# arguments and one scratch array, so that an update allocates nothing; Python floats
# keep float32 arrays in float32
def _sgd_update(var, grad, velocity, learning_rate, momentum, nesterov, scratch):
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


def _adam_update(var, grad, m, v, lr_t, beta1, beta2, epsilon, scratch):
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
