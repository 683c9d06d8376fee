"""Criteria: loss functions of a network's output and a target.

A criterion maps ``(input, target)`` to a scalar loss in :meth:`Criterion.updateOutput`
and to ``dLoss/dInput`` in :meth:`Criterion.updateGradInput`. Losses are means over the
samples of the batch; every criterion also takes an optional ``sample_weight`` (one
non-negative weight per sample), in which case the loss is the weighted mean
``sum_i w_i * loss_i / sum_i w_i``.

This module holds the base class and the criteria on *predictions* (Torch7's):
:class:`ClassNLLCriterion` (on log-probabilities), :class:`MSECriterion`,
:class:`BCECriterion` (on probabilities) and :class:`PoissonCriterion` (on predicted
means). The losses the estimators train with take raw scores and include the output
activation: they are in :mod:`sknn_scratch.nn.losses`.
"""

from __future__ import annotations

from typing import Self

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import xlogy

__all__ = [
    "Criterion",
    "ClassNLLCriterion",
    "MSECriterion",
    "BCECriterion",
    "PoissonCriterion",
]


class Criterion:
    """Base class of the loss functions.

    Attributes
    ----------
    output : float or None
        The last loss value.
    gradInput : ndarray or None
        The last gradient with respect to ``input``.
    """

    #: what a pass leaves behind (dropped by :meth:`clearState`)
    _transient = ("output", "gradInput")

    def __init__(self):
        self.output = None
        self.gradInput = None

    def clearState(self) -> Self:
        """Drop the last loss and gradient; return self."""
        self.output = self.gradInput = None
        return self

    def forward(self, input: np.ndarray, target: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Return the loss of ``input`` against ``target``."""
        if sample_weight is None:
            return self.updateOutput(input, target)
        return self.updateOutput(input, target, sample_weight=sample_weight)

    def backward(self, input: np.ndarray, target: ArrayLike, sample_weight: ArrayLike | None = None) -> np.ndarray:
        """Return the gradient of the loss with respect to ``input``."""
        if sample_weight is None:
            return self.updateGradInput(input, target)
        return self.updateGradInput(input, target, sample_weight=sample_weight)

    def updateOutput(self, input, target, sample_weight=None):
        """Compute ``self.output`` (override)."""
        return self.output

    def updateGradInput(self, input, target, sample_weight=None):
        """Compute ``self.gradInput`` (override)."""
        return self.gradInput

    def loss_and_grad(
        self, input: np.ndarray, target: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> tuple[float, np.ndarray]:
        """Return ``(loss, gradInput)``; heads override it to share the work."""
        return self.forward(input, target, sample_weight), self.backward(input, target, sample_weight)

    def __repr__(self):
        return f"{type(self).__name__}()"


# -- helpers --------------------------------------------------------------------------
def _sample_scale(input, sample_weight):
    """Per-sample factors of the batch mean: ``1/n``, or ``w_i / sum(w)``, as a column."""
    n = input.shape[0]
    if n == 0:
        raise ValueError("Cannot compute a loss on an empty batch.")
    if sample_weight is None:
        return np.asarray(1.0 / n, dtype=input.dtype)
    w = np.asarray(sample_weight, dtype=input.dtype).reshape(-1)
    if w.shape[0] != n:
        raise ValueError(f"sample_weight has {w.shape[0]} entries, but the batch has {n} samples")
    total = w.sum()
    if not total > 0:
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return (w / total).reshape((n,) + (1,) * (input.ndim - 1))


def _mean(per_sample, scale):
    """Weighted mean over samples of an ``(n, ...)`` array, summed over the rest."""
    if scale.ndim == 0:
        return float(per_sample.sum() * scale)
    return float((per_sample * scale).sum())


def _as_target(input, target):
    """Target as an array of the input's dtype and shape (1-D target for 1 column ok)."""
    target = np.asarray(target, dtype=input.dtype)
    if target.shape != input.shape:
        if target.ndim == 1 and input.ndim == 2 and input.shape[1] == 1:
            target = target.reshape(-1, 1)
        else:
            raise ValueError(f"target shape {target.shape} does not match input shape {input.shape}")
    return target


def _class_target(input, target):
    """Class target: an integer label vector becomes one-hot rows of the input dtype."""
    target = np.asarray(target)
    n, k = input.shape
    if target.ndim == 1:
        if target.shape[0] != n:
            raise ValueError(f"target has {target.shape[0]} labels but the input has {n} rows")
        if target.dtype.kind not in "iub":
            if not np.all(np.mod(target, 1) == 0):
                raise ValueError("a 1-D class target must hold integer class indices")
        labels = target.astype(np.intp)
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            raise ValueError(f"class indices must be in [0, {k}), got range [{labels.min()}, {labels.max()}]")
        onehot = np.zeros_like(input)
        onehot[np.arange(n), labels] = 1
        return onehot
    return _as_target(input, target)


# -- criteria on predictions ------------------------------------------------------------
class ClassNLLCriterion(Criterion):
    """Negative log-likelihood of log-probabilities (the output of :class:`LogSoftmax`).

    ``target`` is one-hot (or any probability rows) of shape ``(n, n_classes)``, or a
    vector of integer class indices. Loss: ``-mean_i sum_k target_ik * input_ik``.
    """

    def updateOutput(self, input, target, sample_weight=None):
        t = _class_target(input, target)
        self.output = -_mean(t * input, _sample_scale(input, sample_weight))
        return self.output

    def updateGradInput(self, input, target, sample_weight=None):
        t = _class_target(input, target)
        self.gradInput = -t * _sample_scale(input, sample_weight)
        return self.gradInput


class MSECriterion(Criterion):
    """Squared error summed over features, averaged over samples:
    ``sum((input - target)**2) / n`` (Torch7's ``MSECriterion`` with ``sizeAverage`` over
    samples only)."""

    def updateOutput(self, input, target, sample_weight=None):
        d = input - _as_target(input, target)
        self.output = _mean(d * d, _sample_scale(input, sample_weight))
        return self.output

    def updateGradInput(self, input, target, sample_weight=None):
        d = input - _as_target(input, target)
        self.gradInput = 2 * d * _sample_scale(input, sample_weight)
        return self.gradInput


def _clip_prob(p):
    eps = np.finfo(p.dtype).eps
    return np.clip(p, eps, 1 - eps)


class BCECriterion(Criterion):
    """Binary cross-entropy of probabilities (the output of :class:`Sigmoid`), summed
    over the output columns (multilabel) and averaged over samples.

    Probabilities are clipped to ``[eps, 1 - eps]`` as scikit-learn's MLP does.
    """

    def updateOutput(self, input, target, sample_weight=None):
        y, p = _as_target(input, target), _clip_prob(input)
        loss = -(xlogy(y, p) + xlogy(1 - y, 1 - p))
        self.output = _mean(loss, _sample_scale(input, sample_weight))
        return self.output

    def updateGradInput(self, input, target, sample_weight=None):
        y, p = _as_target(input, target), _clip_prob(input)
        self.gradInput = (p - y) / (p * (1 - p)) * _sample_scale(input, sample_weight)
        return self.gradInput


class PoissonCriterion(Criterion):
    """Half Poisson deviance of predicted means (the output of :class:`Exp`):
    ``sum_k [y log(y / mu) - y + mu]``, averaged over samples."""

    def updateOutput(self, input, target, sample_weight=None):
        y = _as_target(input, target)
        loss = xlogy(y, y / input) - y + input
        self.output = _mean(loss, _sample_scale(input, sample_weight))
        return self.output

    def updateGradInput(self, input, target, sample_weight=None):
        y = _as_target(input, target)
        self.gradInput = (1 - y / input) * _sample_scale(input, sample_weight)
        return self.gradInput
