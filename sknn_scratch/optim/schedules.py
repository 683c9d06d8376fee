"""Learning-rate schedules: how an optimizer's learning rate moves during training.

A schedule is owned by an optimizer (its ``schedule`` attribute). Before step ``t`` of
``T`` planned steps (``t`` counted from 0), the optimizer sets::

    learning_rate = learning_rate_init * schedule(t, T)

so a schedule is a function of the training progress ``p = t / T`` in [0, 1] returning
a factor. The estimators plan ``T = max_iter * batches per epoch`` steps. The same
functions can drive any other value over training (a dropout rate, a weight-decay
factor): call them with the step and the number of steps.

Registered schedules (registry ``schedules``; the estimators accept the names in
``learning_rate=``, alone or as ``(name, kwargs)``):

==============  ===============================================================
``constant``    1
``cosine``      a linear warm-up over the first ``warmup`` of training (none by
                default), then ``min_factor + (1 - min_factor) (1 + cos(pi q)) / 2``
                over the rest (``q`` from 0 to 1): PyTorch's ``CosineAnnealingLR``
``one_cycle``   PyTorch's ``OneCycleLR`` (cosine from ``1/div_factor`` up to 1 over
                ``pct_start`` of training, then down to ``1/(div_factor *
                final_div_factor)``); ``learning_rate_init`` is the peak rate
``step``        ``gamma ** floor(p / step_size)``: PyTorch's ``StepLR``, with
                ``step_size`` a fraction of training
``flat_cos``    1 until ``flat`` (half) of training, then a cosine down to 0
``coslog4``     ``(1 - cos(2 pi log2(1 + (2**n_cycles - 1) p))) / 2``: ``n_cycles`` (4)
                cosine cycles on a logarithmic time scale, each twice as long as the
                one before (RealMLP's schedule, Holzmueller et al. 2024)
==============  ===============================================================

scikit-learn's MLP has two more, which react to events rather than to the step:
:class:`InvScaling` (``"invscaling"``: ``1 / (samples_seen + 1) ** power_t`` after every
epoch) and :class:`Adaptive` (``"adaptive"``: the rate divided by 5 each time training
stops improving). The estimators use them, as MLP does, with ``solver="sgd"`` only.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["Schedule", "Constant", "Cosine", "OneCycle", "Step", "FlatCos", "CosLog", "InvScaling", "Adaptive"]


def _fraction(name, value, low=0.0, high=1.0, closed_high=False):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and low <= value
    ok = ok and (value <= high if closed_high else value < high)
    if not ok:
        bracket = "]" if closed_high else ")"
        raise ValueError(f"{name} must be a number in [{low}, {high}{bracket}, got {value!r}")
    return float(value)


def _cosine(q):
    """1 at ``q = 0`` down to 0 at ``q = 1``, along half a cosine."""
    return 0.5 * (1.0 + math.cos(math.pi * q))


class Schedule:
    """Base class: ``schedule(step, total_steps)`` is the factor of the initial learning
    rate at ``step`` (0-based) of ``total_steps``; subclasses define :meth:`factor` of
    the progress ``step / total_steps``."""

    #: whether the optimizer asks for the factor before every step
    by_step = True

    def __call__(self, step: int, total_steps: int) -> float:
        return self.factor(min(step / total_steps, 1.0))

    def factor(self, progress: float) -> float:
        """The factor at ``progress`` in [0, 1]."""
        return 1.0

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """The initial learning rate throughout.

    Examples
    --------
    >>> from sknn_scratch.optim.schedules import Constant
    >>> Constant()(5, 10)
    1.0
    """


class Cosine(Schedule):
    """Cosine decay, after an optional linear warm-up.

    Parameters
    ----------
    warmup : float in [0, 1), default=0.0
        Fraction of training over which the factor rises linearly from 0 to 1.
    min_factor : float in [0, 1], default=0.0
        The factor at the end of training.

    Examples
    --------
    >>> from sknn_scratch.optim.schedules import Cosine
    >>> [round(Cosine()(t, 4), 4) for t in range(5)]
    [1.0, 0.8536, 0.5, 0.1464, 0.0]
    >>> [round(Cosine(warmup=0.5)(t, 4), 4) for t in range(5)]
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """

    def __init__(self, warmup=0.0, min_factor=0.0):
        self.warmup = _fraction("warmup", warmup)
        self.min_factor = _fraction("min_factor", min_factor, closed_high=True)

    def factor(self, progress):
        if progress < self.warmup:
            return progress / self.warmup
        q = (progress - self.warmup) / (1.0 - self.warmup)
        return self.min_factor + (1.0 - self.min_factor) * _cosine(q)


class OneCycle(Schedule):
    """The one-cycle policy (Smith & Topin, 2019), as PyTorch's ``OneCycleLR`` with
    cosine annealing: ``learning_rate_init`` is the peak.

    Parameters
    ----------
    pct_start : float in (0, 1), default=0.3
        Fraction of the steps spent rising to the peak.
    div_factor : float, default=25.0
        The first rate is the peak divided by this.
    final_div_factor : float, default=1e4
        The last rate is the first divided by this.

    Examples
    --------
    >>> from sknn_scratch.optim.schedules import OneCycle
    >>> s = OneCycle(pct_start=0.5, div_factor=10.0, final_div_factor=100.0)
    >>> [round(s(t, 5), 4) for t in range(5)]
    [0.1, 0.775, 0.9046, 0.3461, 0.001]
    """

    def __init__(self, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
        self.pct_start = _fraction("pct_start", pct_start)
        if not self.pct_start > 0:
            raise ValueError(f"pct_start must be in (0, 1), got {pct_start!r}")
        for name, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
            if not (isinstance(value, numbers.Real) and value >= 1):
                raise ValueError(f"{name} must be a number >= 1, got {value!r}")
        self.div_factor, self.final_div_factor = float(div_factor), float(final_div_factor)

    def __call__(self, step, total_steps):
        # PyTorch's phases end at steps pct_start * T - 1 and T - 1
        start = 1.0 / self.div_factor
        end = start / self.final_div_factor
        rise_end = self.pct_start * total_steps - 1
        if step <= rise_end:
            return 1.0 + (start - 1.0) * _cosine(step / rise_end) if rise_end > 0 else 1.0
        q = min((step - rise_end) / max(total_steps - 1 - rise_end, 1e-12), 1.0)
        return end + (1.0 - end) * _cosine(q)

    def factor(self, progress):
        return self(progress * 1_000_000, 1_000_000)


class Step(Schedule):
    """Multiply the rate by ``gamma`` every ``step_size`` of training.

    Parameters
    ----------
    step_size : float in (0, 1], default=0.3
        Fraction of the steps between two decays.
    gamma : float, default=0.1

    Examples
    --------
    >>> from sknn_scratch.optim.schedules import Step
    >>> [Step(step_size=0.25, gamma=0.5)(t, 8) for t in range(0, 8, 2)]
    [1.0, 0.5, 0.25, 0.125]
    """

    def __init__(self, step_size=0.3, gamma=0.1):
        self.step_size = _fraction("step_size", step_size, closed_high=True)
        if not self.step_size > 0:
            raise ValueError(f"step_size must be in (0, 1], got {step_size!r}")
        if not (isinstance(gamma, numbers.Real) and gamma > 0):
            raise ValueError(f"gamma must be a number > 0, got {gamma!r}")
        self.gamma = float(gamma)

    def __call__(self, step, total_steps):
        # steps per decay rounded as PyTorch's integer step_size would be
        every = max(round(self.step_size * total_steps), 1)
        return self.gamma ** (step // every)

    def factor(self, progress):
        return self.gamma ** math.floor(progress / self.step_size + 1e-12)


class FlatCos(Schedule):
    """Constant, then a cosine down to 0.

    Parameters
    ----------
    flat : float in [0, 1), default=0.5
        Fraction of training at the initial rate.

    Examples
    --------
    >>> from sknn_scratch.optim.schedules import FlatCos
    >>> [round(FlatCos()(t, 4), 4) for t in range(5)]
    [1.0, 1.0, 1.0, 0.5, 0.0]
    """

    def __init__(self, flat=0.5):
        self.flat = _fraction("flat", flat)

    def factor(self, progress):
        if progress <= self.flat:
            return 1.0
        return _cosine((progress - self.flat) / (1.0 - self.flat))


class CosLog(Schedule):
    """Cosine cycles on a logarithmic time scale: ``(1 - cos(2 pi log2(1 + (2**c - 1)
    p))) / 2`` for ``c = n_cycles``. The factor is 0 at the start, at the end and
    between cycles, and 1 in the middle of each; every cycle is twice as long as the
    one before (RealMLP's ``coslog4``, Holzmueller et al. 2024).

    Parameters
    ----------
    n_cycles : int, default=4

    Examples
    --------
    >>> from sknn_scratch.optim.schedules import CosLog
    >>> [round(CosLog()(t, 15), 4) for t in (0, 1, 3, 7, 15)]
    [0.0, 0.0, 0.0, 0.0, 0.0]
    >>> round(CosLog().factor((2**0.5 - 1) / 15), 4)  # the middle of the first cycle
    1.0
    """

    def __init__(self, n_cycles=4):
        if isinstance(n_cycles, bool) or not isinstance(n_cycles, numbers.Integral) or n_cycles < 1:
            raise ValueError(f"n_cycles must be an integer >= 1, got {n_cycles!r}")
        self.n_cycles = int(n_cycles)

    def factor(self, progress):
        cycles = math.log2(1.0 + (2.0**self.n_cycles - 1.0) * progress)
        return 0.5 * (1.0 - math.cos(2.0 * math.pi * cycles))


class InvScaling(Schedule):
    """scikit-learn's ``"invscaling"``: after every epoch the factor is
    ``1 / (samples_seen + 1) ** power_t``.

    Parameters
    ----------
    power_t : float, default=0.5

    Examples
    --------
    >>> from sknn_scratch.optim.schedules import InvScaling
    >>> InvScaling(power_t=0.5).after_epoch(99)
    0.1
    """

    by_step = False

    def __init__(self, power_t=0.5):
        self.power_t = power_t

    def after_epoch(self, samples_seen):
        return 1.0 / (samples_seen + 1) ** self.power_t


class Adaptive(Schedule):
    """scikit-learn's ``"adaptive"``: each time training stops improving the rate is
    divided by 5, until it is at most ``1e-6``; then training stops.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.optim import SGD
    >>> from sknn_scratch.optim.schedules import Adaptive
    >>> opt = SGD(np.zeros(1), np.zeros(1), learning_rate=0.1, schedule=Adaptive())
    >>> opt.plateau()
    (False, 'Setting learning rate to 0.020000')
    """

    by_step = False

    def on_plateau(self, optimizer):
        if optimizer.learning_rate <= 1e-6:
            return True, "Learning rate too small. Stopping."
        optimizer.learning_rate /= 5.0
        return False, f"Setting learning rate to {optimizer.learning_rate:f}"
