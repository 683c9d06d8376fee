"""Losses on raw scores: what the estimators train with.

Each loss takes the network's raw scores ``z`` and includes the output activation
(``out_activation``, e.g. softmax) that turns scores into predictions (``activate``):
computing both in one step gives a well-conditioned gradient, ``(activation(z) - y)``
times the sample's weight in the mean for the canonical pairs (softmax and
cross-entropy, logistic and binary cross-entropy, identity and squared error, exp and
Poisson deviance). :meth:`Loss.loss_and_grad` returns the loss and its gradient from one
evaluation of the activation.

=========================================  ================  ==================================
loss (registry name)                       output activation  per sample, over the outputs
=========================================  ================  ==================================
:class:`SoftmaxCrossEntropyCriterion`       softmax           ``-sum_k y_k log softmax(z)_k``
(``"softmax_cross_entropy"``)
:class:`SigmoidBCECriterion`                logistic          ``sum_k log(1 + e^z) - y z``
(``"sigmoid_bce"``)
:class:`SquaredErrorCriterion`              identity          ``mean_k (z - y)^2 / 2``
(``"squared_error"``)
:class:`ExpPoissonCriterion` (``"poisson"``)  exp              ``sum_k y log y - y - y z + e^z``
:class:`HuberCriterion` (``"huber"``)       identity          ``mean_k huber(z - y)``
:class:`AbsCriterion` (``"absolute_error"``)  identity         ``mean_k |z - y|``
:class:`PinballCriterion` (``"quantile"``)  identity          ``mean_k pinball(y - z)``
=========================================  ================  ==================================

The estimators' ``loss`` parameter names one of them (the classifier's ``"log_loss"`` is
the softmax or the logistic one, by the kind of target).
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, xlogy

from .activation import log_softmax
from .criterion import Criterion, _as_target, _class_target, _sample_scale

__all__ = [
    "Loss",
    "SoftmaxCrossEntropyCriterion",
    "SigmoidBCECriterion",
    "SquaredErrorCriterion",
    "ExpPoissonCriterion",
    "HuberCriterion",
    "AbsCriterion",
    "PinballCriterion",
]


class Loss(Criterion):
    """A loss on raw scores ``z``, with its output activation.

    Subclasses give ``out_activation`` and :meth:`activate`, and
    :meth:`_terms_and_gradient`: the loss of each value and ``dLoss/dz`` of each value
    (for the canonical pairs, ``activation(z) - y``). The loss is the mean over samples
    (weighted with ``sample_weight``) of the sum over a sample's outputs, or of their
    mean when ``mean_over_outputs``.
    """

    #: name of the activation that maps scores to predictions (MLP's ``out_activation_``)
    out_activation = "identity"
    #: average a sample's outputs (True) or sum them (False)
    mean_over_outputs = False
    #: label smoothing (the classification losses set it)
    label_smoothing = 0.0

    def activate(self, z: np.ndarray) -> np.ndarray:
        """Predictions (probabilities or means) from scores ``z``."""
        return z.copy()

    def _target(self, input, target):
        return _as_target(input, target)

    def _terms_and_gradient(self, z, y):  # pragma: no cover - abstract
        """``(terms, gradient)``: two new arrays shaped like ``z``."""
        raise NotImplementedError

    def loss_and_grad(
        self, input: np.ndarray, target: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> tuple[float, np.ndarray]:
        """Return ``(loss, gradInput)`` from one evaluation of the activation."""
        y = target
        if not (isinstance(y, np.ndarray) and y.shape == input.shape and y.dtype == input.dtype):
            y = self._target(input, target)
        elif self.label_smoothing:
            y = self._target(input, target)
        terms, grad = self._terms_and_gradient(input, y)
        n = input.shape[0]
        if sample_weight is None:
            if n == 0:
                raise ValueError("Cannot compute a loss on an empty batch.")
            scale = 1.0 / n
            loss = float(terms.sum()) * scale
        else:
            scale = _sample_scale(input, sample_weight)
            loss = float((terms * scale).sum())
        if self.mean_over_outputs and input.ndim > 1:
            per_output = 1.0 / int(np.prod(input.shape[1:]))
            loss *= per_output
            scale = scale * per_output
        grad *= scale
        self.output, self.gradInput = loss, grad
        return loss, grad

    def updateOutput(self, input, target, sample_weight=None):
        return self.loss_and_grad(input, target, sample_weight)[0]

    def updateGradInput(self, input, target, sample_weight=None):
        return self.loss_and_grad(input, target, sample_weight)[1]


def _check_smoothing(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{name} label_smoothing must be a number in [0, 1], got {value!r}")
    return float(value)


class SoftmaxCrossEntropyCriterion(Loss):
    """Softmax + negative log-likelihood on scores: multiclass log-loss.

    ``target`` is one-hot rows (or probability rows) or integer labels.

    Parameters
    ----------
    label_smoothing : float in [0, 1], default=0.0
        As in PyTorch's ``CrossEntropyLoss``: the target rows ``y`` of ``K`` classes
        become ``y (1 - label_smoothing) + label_smoothing / K``. The loss is
        ``-sum_k y_k log softmax(z)_k`` of those targets and its gradient
        ``softmax(z) - y``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import SoftmaxCrossEntropyCriterion
    >>> z, y = np.array([[2.0, 0.0, 0.0]]), np.array([0])
    >>> round(SoftmaxCrossEntropyCriterion().forward(z, y), 4)
    0.2395
    >>> round(SoftmaxCrossEntropyCriterion(label_smoothing=0.3).forward(z, y), 4)
    0.6395
    """

    out_activation = "softmax"
    label_smoothing = 0.0  # also for heads pickled before the option existed

    def __init__(self, label_smoothing: float = 0.0):
        super().__init__()
        if label_smoothing != 0.0:  # (the default needs no check)
            self.label_smoothing = _check_smoothing("SoftmaxCrossEntropyCriterion", label_smoothing)

    def __repr__(self):
        return (
            f"{type(self).__name__}("
            + (f"label_smoothing={self.label_smoothing}" if self.label_smoothing else "")
            + ")"
        )

    def _target(self, input, target):
        y = _class_target(input, target)
        if self.label_smoothing:
            y = y * (1 - self.label_smoothing) + self.label_smoothing / input.shape[1]
        return y

    def activate(self, z):
        return np.exp(log_softmax(z))

    def _terms_and_gradient(self, z, y):
        # the log-softmax once, for both the loss and the probabilities
        log_p = log_softmax(z)
        terms = -y * log_p
        proba = np.exp(log_p, out=log_p)
        proba -= y
        return terms, proba


class SigmoidBCECriterion(Loss):
    """Logistic + binary cross-entropy on scores (binary and multilabel log-loss),
    computed stably as ``log(1 + exp(z)) - y z``, summed over columns.

    Parameters
    ----------
    label_smoothing : float in [0, 1], default=0.0
        The targets ``y`` become ``y (1 - label_smoothing) + label_smoothing / 2``
        (both classes of each column share the smoothing); the gradient is
        ``sigmoid(z) - y`` of those targets.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import SigmoidBCECriterion
    >>> z, y = np.array([[3.0]]), np.array([[1.0]])
    >>> round(SigmoidBCECriterion().forward(z, y), 4), round(SigmoidBCECriterion(label_smoothing=0.2).forward(z, y), 4)
    (0.0486, 0.3486)
    """

    out_activation = "logistic"
    label_smoothing = 0.0  # also for heads pickled before the option existed

    def __init__(self, label_smoothing: float = 0.0):
        super().__init__()
        if label_smoothing != 0.0:  # (the default needs no check)
            self.label_smoothing = _check_smoothing("SigmoidBCECriterion", label_smoothing)

    def __repr__(self):
        return (
            f"{type(self).__name__}("
            + (f"label_smoothing={self.label_smoothing}" if self.label_smoothing else "")
            + ")"
        )

    def _target(self, input, target):
        y = _as_target(input, target)
        if self.label_smoothing:
            y = y * (1 - self.label_smoothing) + self.label_smoothing / 2
        return y

    def activate(self, z):
        return expit(z)

    def _terms_and_gradient(self, z, y):
        terms = np.logaddexp(0, z)
        terms -= y * z
        grad = expit(z)
        grad -= y
        return terms, grad


class SquaredErrorCriterion(Loss):
    """Identity + half squared error, as scikit-learn's MLP reports it:
    ``0.5 * mean over outputs of (z - y)**2``, averaged over samples."""

    out_activation = "identity"
    mean_over_outputs = True

    def _terms_and_gradient(self, z, y):
        d = z - y
        return 0.5 * d * d, d


class ExpPoissonCriterion(Loss):
    """Exp + half Poisson deviance on log-means ``z``: ``sum_k [y log(y) - y - y z + exp(z)]``."""

    out_activation = "exp"

    def activate(self, z):
        return np.exp(z)

    def _terms_and_gradient(self, z, y):
        mean = np.exp(z)
        terms = xlogy(y, y) - y - y * z + mean
        mean -= y
        return terms, mean


# -- robust regression losses: functions of the residual, averaged over the outputs -------
class _ResidualLoss(Loss):
    """An identity-output loss ``rho(z - y)``, averaged over every output of every
    sample (as PyTorch's losses average over elements); subclasses give
    ``_rho(d) -> (rho(d), rho'(d))``, new arrays."""

    out_activation = "identity"
    mean_over_outputs = True

    def _rho(self, d):  # pragma: no cover - abstract
        raise NotImplementedError

    def _terms_and_gradient(self, z, y):
        return self._rho(z - y)


class HuberCriterion(_ResidualLoss):
    """Huber loss of the residual ``d = z - y`` (PyTorch's ``HuberLoss``): quadratic
    near zero, linear beyond ``delta``, averaged over every output of every sample.

    .. math::

        \\rho(d) = \\begin{cases} d^2 / 2 & |d| \\le \\delta \\\\
            \\delta (|d| - \\delta / 2) & |d| > \\delta \\end{cases}, \\qquad
        \\rho'(d) = \\operatorname{clip}(d, -\\delta, \\delta).

    Parameters
    ----------
    delta : float, default=1.0
        Where the loss turns linear; must be > 0.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import HuberCriterion
    >>> HuberCriterion().forward(np.array([[0.5, 3.0]]), np.array([[0.0, 0.0]]))
    1.3125
    """

    def __init__(self, delta: float = 1.0):
        super().__init__()
        if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not 0 < delta < np.inf:
            raise ValueError(f"HuberCriterion delta must be a finite number > 0, got {delta!r}")
        self.delta = float(delta)

    def _rho(self, d):
        slope = np.clip(d, -self.delta, self.delta)
        # d^2 / 2 inside, delta (|d| - delta / 2) outside: both are slope * (d - slope / 2)
        terms = slope * 0.5
        np.subtract(d, terms, out=terms)
        terms *= slope
        return terms, slope

    def __repr__(self):
        return f"HuberCriterion(delta={self.delta})"


class AbsCriterion(_ResidualLoss):
    """Absolute error ``|z - y|`` (L1, PyTorch's ``L1Loss``), averaged over every output
    of every sample; its gradient is ``sign(z - y)``, 0 where ``z = y`` (as PyTorch).

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import AbsCriterion
    >>> AbsCriterion().forward(np.array([[0.5, -3.0]]), np.array([[0.0, 0.0]]))
    1.75
    """

    def _rho(self, d):
        return np.abs(d), np.sign(d)


class PinballCriterion(_ResidualLoss):
    """Pinball (quantile) loss: trains the outputs to predict quantiles of the target.

    With ``q`` quantiles ``tau_0, ..., tau_{q-1}`` and ``k`` targets the input has
    ``k * q`` columns: column ``j * q + i`` predicts quantile ``tau_i`` of target ``j``
    (the quantiles of one target are neighbours). ``target`` has ``k`` columns (or is a
    vector when ``k = 1``). With ``u = y - z`` (target minus prediction):

    .. math::

        \\rho_\\tau(u) = \\max(\\tau u, (\\tau - 1) u), \\qquad
        \\frac{\\partial \\rho_\\tau}{\\partial z} = \\begin{cases} -\\tau & z < y \\\\
            1 - \\tau & z > y \\\\ 0 & z = y \\end{cases},

    averaged over the ``k * q`` columns and the samples. ``tau = 0.5`` is half the
    absolute error: the median.

    Parameters
    ----------
    quantiles : tuple of float in (0, 1), default=(0.5,)

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import PinballCriterion
    >>> crit = PinballCriterion(quantiles=(0.1, 0.9))
    >>> z = np.array([[1.0, 3.0]])  # the 10 % and 90 % quantiles of one target
    >>> round(crit.forward(z, np.array([2.0])), 6)  # (0.1 * 1 + 0.1 * 1) / 2
    0.1
    """

    def __init__(self, quantiles=(0.5,)):
        super().__init__()
        try:
            values = tuple(float(q) for q in np.atleast_1d(quantiles))
        except (TypeError, ValueError):
            values = ()
        if not values or not all(0 < q < 1 for q in values):
            raise ValueError(f"PinballCriterion quantiles must be numbers in (0, 1), got {quantiles!r}")
        self.quantiles = values

    def _target(self, input, target):
        q = len(self.quantiles)
        columns = int(np.prod(input.shape[1:])) if input.ndim > 1 else 1
        if input.ndim != 2 or columns % q:
            raise ValueError(f"{self!r} expects input of shape (n_samples, n_targets * {q}), got {input.shape}")
        y = np.asarray(target, dtype=input.dtype)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        if y.shape != (input.shape[0], columns // q):
            raise ValueError(
                f"{self!r}: input of shape {input.shape} holds {q} quantiles of {columns // q} target(s), so the "
                f"target must have shape ({input.shape[0]}, {columns // q}); got {np.shape(target)}"
            )
        return np.repeat(y, q, axis=1)  # column j * q + i holds target j

    def _rho(self, d):
        tau = np.tile(np.asarray(self.quantiles, dtype=d.dtype), d.shape[1] // len(self.quantiles))
        above, below = d > 0, d < 0  # the prediction is above (below) the target
        slope = above * (1 - tau) - below * tau
        slope = slope.astype(d.dtype, copy=False)
        return slope * d, slope

    @property
    def outputs_per_target(self):
        """Network outputs per target: one per quantile (the estimators size their
        output layer by it)."""
        return len(self.quantiles)

    def __repr__(self):
        return f"PinballCriterion(quantiles={self.quantiles})"
