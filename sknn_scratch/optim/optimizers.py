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

The optimizer owns its learning rate: ``learning_rate`` is the rate of the next step
(a training callback may change it), ``learning_rate_init`` the rate it started from,
and an optional ``schedule`` (see :mod:`sknn_scratch.optim.schedules`) sets
``learning_rate`` from ``learning_rate_init`` as training goes on.

Every optimizer also takes, as keyword arguments:

* ``lr_factors`` and ``decay_factors``: one factor per parameter value, multiplying its
  learning rate and its weight decay (parameter groups on a flat vector, without a
  loop per parameter; see :meth:`~sknn_scratch.nn.Module.factor_vectors`);
* ``clip_norm``: rescale the gradient so that its global L2 norm is at most this;
* ``schedule`` and ``total_steps``: the learning-rate schedule and the number of steps
  it spans.

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
    """Pair parameters with gradients, flattening nested lists (``Sequential.getParameters()``
    gives one list per module)."""
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


def _per_pair(factors, pairs, name):
    """``factors`` (one array for one parameter array, or a list aligned with the
    parameters) as a list with one array or None per parameter array."""
    if isinstance(factors, np.ndarray):
        factors = [factors]
    factors = list(factors)
    if len(factors) != len(pairs):
        raise ValueError(f"{name} gives {len(factors)} arrays for {len(pairs)} parameter arrays")
    out = []
    for f, (var, _) in zip(factors, pairs, strict=True):
        if f is None:
            out.append(None)
            continue
        f = np.asarray(f, dtype=var.dtype)
        if f.shape != var.shape and f.shape != (var.size,):
            raise ValueError(f"{name}: an array of shape {f.shape} for a parameter of shape {var.shape}")
        if not np.all(np.isfinite(f)) or np.any(f < 0):
            raise ValueError(f"{name} must be finite and >= 0")
        out.append(f.reshape(var.shape))
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
        The initial step size.
    lr_factors, decay_factors : ndarray or list of ndarrays, default=None
        Per-value factors of the learning rate and of the weight decay (None: all 1).
    clip_norm : float, default=None
        Largest global L2 norm of the gradient; a larger gradient is scaled down to it.
    schedule : Schedule, default=None
        Sets ``learning_rate`` before every step (see :mod:`.schedules`); None keeps it.
    total_steps : int, default=None
        The steps the schedule spans (the estimators set it from ``max_iter``).

    Attributes
    ----------
    learning_rate : float
        The rate of the next step.
    learning_rate_init : float
        The rate the optimizer was created with.
    t : int
        Steps taken.
    """

    #: names of the hyperparameters (constructor arguments after params and grads)
    _hyperparameters: tuple[str, ...] = ("learning_rate",)
    #: names of the per-parameter state arrays carried from one step to the next
    _slots: tuple[str, ...] = ()
    #: what belongs to one training run (the arrays it is bound to, its schedule): a saved
    #: estimator leaves it out; a new training binds a new optimizer and loads
    #: :meth:`state_dict` into it
    _transient: tuple[str, ...] = ("pairs", "lr_factors", "decay_factors", "_scratch", "schedule")

    def __init__(
        self,
        params,
        grads,
        learning_rate: float,
        *,
        lr_factors=None,
        decay_factors=None,
        clip_norm: float | None = None,
        schedule=None,
        total_steps: int | None = None,
    ):
        if isinstance(params, np.ndarray):  # one vector (flatten_parameters)
            if params.shape != np.shape(grads):
                raise ValueError(f"parameter of shape {params.shape} has a gradient of shape {np.shape(grads)}")
            self.pairs = [(params, grads)]
        else:
            self.pairs = flatten_pairs(params, grads)
        for index, (var, _) in enumerate(self.pairs):
            if not var.flags.writeable:
                raise ValueError(
                    f"parameter {index} is read-only (e.g. loaded from a memory map); copy it before training"
                )
        if clip_norm is not None and not (isinstance(clip_norm, numbers.Real) and clip_norm > 0):
            raise ValueError(f"clip_norm must be a number > 0 or None, got {clip_norm!r}")
        self.learning_rate = self.learning_rate_init = learning_rate
        none = [None] * len(self.pairs)
        self.lr_factors = none if lr_factors is None else _per_pair(lr_factors, self.pairs, "lr_factors")
        self.decay_factors = none if decay_factors is None else _per_pair(decay_factors, self.pairs, "decay_factors")
        self.clip_norm = clip_norm
        self.schedule = schedule
        self.total_steps = total_steps
        self.t = 0
        self.state = {name: [np.zeros_like(var) for var, _ in self.pairs] for name in self._slots}
        self._scratch = [np.empty_like(var) for var, _ in self.pairs]

    def step(self) -> None:
        """Update every parameter in place from its gradient: the schedule's rate for
        this step, the gradient clipped to ``clip_norm``, then the update rule."""
        if self.schedule is not None and self.schedule.by_step and self.total_steps:
            self.learning_rate = self.learning_rate_init * self.schedule(self.t, self.total_steps)
        if self.clip_norm is not None:
            self._clip_gradient()
        self.t += 1
        for index, (var, grad) in enumerate(self.pairs):
            self._update(index, var, grad)

    def _clip_gradient(self):
        norm = math.sqrt(sum(float(np.vdot(grad, grad)) for _, grad in self.pairs))
        if norm > self.clip_norm:
            for _, grad in self.pairs:
                grad *= self.clip_norm / norm

    def _update(self, index, var, grad):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- the two events of scikit-learn's MLP schedules -------------------------------
    def end_epoch(self, samples_seen: int) -> None:
        """Called after every epoch with the number of samples trained on so far; a
        schedule that follows them (MLP's ``"invscaling"``) sets the rate."""
        follow = getattr(self.schedule, "after_epoch", None)
        if follow is not None:
            self.learning_rate = self.learning_rate_init * follow(samples_seen)

    def plateau(self) -> tuple[bool, str]:
        """Called when training stopped improving: ``(stop, what)``, whether to stop
        training and what was done, in scikit-learn's words. Without a schedule that
        reacts (MLP's ``"adaptive"`` divides the rate by 5 until it is tiny), training
        stops."""
        react = getattr(self.schedule, "on_plateau", None)
        return (True, "Stopping.") if react is None else react(self)

    # -- persistence ----------------------------------------------------------------
    def state_dict(self) -> dict:
        """The hyperparameters, the step count ``t`` and the state arrays (the
        optimizer's own, not copies), as a dict of plain values."""
        out = {name: getattr(self, name) for name in self._hyperparameters}
        out["t"] = self.t
        out.update({name: list(arrays) for name, arrays in self.state.items()})
        return out

    def load_state_dict(self, state: dict) -> None:
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

    ``velocity = momentum * velocity + lr * grad`` and ``var -= velocity`` (with
    Nesterov: ``var -= momentum * velocity + lr * grad``), with ``lr`` the learning rate
    times the value's ``lr_factors``: scikit-learn's MLP update with the velocity's sign
    flipped.

    Parameters
    ----------
    params, grads : ndarray or lists of ndarrays
        See :class:`Optimizer`.
    learning_rate : float, default=0.01
    momentum : float, default=0.0
    nesterov : bool, default=False
    **options
        ``lr_factors``, ``decay_factors``, ``clip_norm``, ``schedule``, ``total_steps``
        (see :class:`Optimizer`).

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.optim import SGD
    >>> x, g = np.array([1.0, -2.0]), np.zeros(2)
    >>> opt = SGD(x, g, learning_rate=0.1)
    >>> g[...] = x; opt.step(); x
    array([ 0.9, -1.8])
    """

    _hyperparameters = ("learning_rate", "momentum", "nesterov")
    _slots = ("velocity",)

    def __init__(self, params, grads, learning_rate=0.01, momentum=0.0, nesterov=False, **options):
        super().__init__(params, grads, learning_rate, **options)
        self.momentum = momentum
        self.nesterov = nesterov

    def _update(self, index, var, grad):
        velocity = self.state["velocity"][index]
        _sgd_update(
            var, grad, velocity, self.learning_rate, self.momentum, self.nesterov, self._scratch[index],
            self.lr_factors[index],
        )  # fmt: skip


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with scikit-learn's bias correction.

    ``m = beta_1 m + (1 - beta_1) g``, ``v = beta_2 v + (1 - beta_2) g**2`` and
    ``var -= lr_t m / (sqrt(v) + epsilon)`` with
    ``lr_t = learning_rate sqrt(1 - beta_2**t) / (1 - beta_1**t)`` at step ``t`` (times
    the value's ``lr_factors``). PyTorch adds ``epsilon`` after the bias correction of
    ``sqrt(v)`` instead, a difference only while ``v`` is tiny.

    Parameters
    ----------
    params, grads : ndarray or lists of ndarrays
        See :class:`Optimizer`.
    learning_rate : float, default=1e-3
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of the moments, in [0, 1).
    epsilon : float, default=1e-8
    **options
        ``lr_factors``, ``decay_factors``, ``clip_norm``, ``schedule``, ``total_steps``
        (see :class:`Optimizer`).

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.optim import Adam
    >>> x, g = np.array([1.0, -2.0]), np.zeros(2)
    >>> opt = Adam(x, g, learning_rate=0.1)
    >>> g[...] = x; opt.step(); x.round(6)  # the first step moves each value by lr
    array([ 0.9, -1.9])
    """

    _hyperparameters: tuple[str, ...] = ("learning_rate", "beta_1", "beta_2", "epsilon")
    _slots: tuple[str, ...] = ("m", "v")

    def __init__(self, params, grads, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8, **options):
        self._check_hyperparameters({"beta_1": beta_1, "beta_2": beta_2})
        super().__init__(params, grads, learning_rate, **options)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _check_hyperparameters(self, values):
        beta_1, beta_2 = values["beta_1"], values["beta_2"]
        if not (0 <= beta_1 < 1 and 0 <= beta_2 < 1):
            raise ValueError(f"beta_1 and beta_2 must be in [0, 1), got beta_1={beta_1!r}, beta_2={beta_2!r}")

    def _update(self, index, var, grad):
        m, v = self.state["m"][index], self.state["v"][index]
        # the bias-corrected step size lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        lr_t = float(self.learning_rate) * math.sqrt(1 - self.beta_2**self.t) / (1 - self.beta_1**self.t)
        _adam_update(
            var, grad, m, v, lr_t, self.beta_1, self.beta_2, self.epsilon, self._scratch[index],
            self.lr_factors[index],
        )  # fmt: skip


def adam_lr(learning_rate, beta1, beta2, t):
    """Adam's bias-corrected step size ``lr * sqrt(1 - beta2**t) / (1 - beta1**t)``, a Python float."""
    return float(learning_rate) * math.sqrt(1 - beta2**t) / (1 - beta1**t)


# -- the in-place update arithmetic, shared with the functions of .functional: ``out=``
# arguments and one scratch array, so that an update allocates nothing; Python floats
# keep float32 arrays in float32
def _sgd_update(var, grad, velocity, learning_rate, momentum, nesterov, scratch, lr_factors=None):
    """``velocity = momentum * velocity + lr * grad``; ``var -= velocity`` (Nesterov:
    ``var -= momentum * velocity + lr * grad``), with ``lr = learning_rate * lr_factors``."""
    momentum = float(momentum)
    velocity *= momentum
    np.multiply(grad, float(learning_rate), out=scratch)
    if lr_factors is not None:
        scratch *= lr_factors
    velocity += scratch
    if nesterov:
        scratch += momentum * velocity
        var -= scratch
    else:
        var -= velocity


def _adam_update(var, grad, m, v, lr_t, beta1, beta2, epsilon, scratch, lr_factors=None):
    """``m = beta1 m + (1 - beta1) g``; ``v = beta2 v + (1 - beta2) g**2``;
    ``var -= lr_t m / (sqrt(v) + epsilon)`` (times ``lr_factors``)."""
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
    if lr_factors is not None:
        scratch *= lr_factors
    var -= scratch
