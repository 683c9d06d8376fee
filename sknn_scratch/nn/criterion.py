"""Loss functions (criteria).

A criterion maps ``(input, target)`` to a scalar loss in :meth:`Criterion.updateOutput`
and to ``dLoss/dInput`` in :meth:`Criterion.updateGradInput`. Losses are means over the
samples of the batch; every criterion here also takes an optional ``sample_weight``
(one non-negative weight per sample), in which case the loss is the weighted mean
``sum_i w_i * loss_i / sum_i w_i``.

Two families exist:

* criteria on *outputs*, as in the seed notebook: :class:`ClassNLLCriterion` (on
  log-probabilities), :class:`MSECriterion`, :class:`BCECriterion` (on probabilities)
  and :class:`PoissonCriterion` (on predicted means);
* fused output *heads* on raw scores, used by the estimators: the activation and the
  loss in one step, whose gradient is the well-conditioned ``(activation(z) - y) / n``:
  :class:`SoftmaxCrossEntropyCriterion`, :class:`SigmoidBCECriterion`,
  :class:`SquaredErrorCriterion` and :class:`ExpPoissonCriterion`. Their
  ``out_activation`` names the activation that turns scores into predictions;
* robust regression heads on raw scores (identity output), functions of the residual
  ``z - y`` averaged over the output columns as PyTorch's losses average over elements:
  :class:`HuberCriterion`, :class:`AbsCriterion` and the quantile (pinball) loss
  :class:`PinballCriterion`.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import expit, xlogy

from .activation import log_softmax

__all__ = [
    "Criterion",
    "ClassNLLCriterion",
    "MSECriterion",
    "BCECriterion",
    "PoissonCriterion",
    "SoftmaxCrossEntropyCriterion",
    "SigmoidBCECriterion",
    "SquaredErrorCriterion",
    "ExpPoissonCriterion",
    "HuberCriterion",
    "AbsCriterion",
    "PinballCriterion",
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

    def clearState(self):
        """Drop the last loss and gradient; return self."""
        self.output = self.gradInput = None
        return self

    def forward(self, input, target, sample_weight=None):
        """Return the loss of ``input`` against ``target``."""
        if sample_weight is None:
            return self.updateOutput(input, target)
        return self.updateOutput(input, target, sample_weight=sample_weight)

    def backward(self, input, target, sample_weight=None):
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

    def loss_and_grad(self, input, target, sample_weight=None):
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


# -- criteria on outputs (seed notebook API) -----------------------------------------
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
    ``sum((input - target)**2) / n`` (the seed notebook's definition)."""

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


# -- fused heads on raw scores ---------------------------------------------------------
class _Head(Criterion):
    """A loss on raw scores ``z`` whose gradient is ``(activation(z) - y) * scale``."""

    #: name of the activation that maps scores to predictions (MLP's ``out_activation_``)
    out_activation = "identity"

    def _target(self, input, target):
        return _as_target(input, target)

    def activate(self, z):
        """Predictions (probabilities or means) from scores ``z``."""
        return z

    def _loss_terms(self, z, y, pred):
        raise NotImplementedError

    def _grad_factor(self, z):
        """Extra constant factor of the gradient (1 for the canonical links)."""
        return 1

    def _terms_and_prediction(self, z, y):
        """The per-sample loss terms and the predictions (a new array) from scores ``z``."""
        pred = self.activate(z)
        return self._loss_terms(z, y, pred), pred

    def loss_and_grad(self, input, target, sample_weight=None):
        """Return ``(loss, gradInput)`` from one evaluation of the activation."""
        y = self._target(input, target)
        scale = _sample_scale(input, sample_weight)
        terms, pred = self._terms_and_prediction(input, y)
        self.output = _mean(terms, scale)
        pred -= y
        pred *= scale * self._grad_factor(input)
        self.gradInput = pred
        return self.output, self.gradInput

    def updateOutput(self, input, target, sample_weight=None):
        y = self._target(input, target)
        terms = self._terms_and_prediction(input, y)[0]
        self.output = _mean(terms, _sample_scale(input, sample_weight))
        return self.output

    def updateGradInput(self, input, target, sample_weight=None):
        return self.loss_and_grad(input, target, sample_weight)[1]


def _check_smoothing(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{name} label_smoothing must be a number in [0, 1], got {value!r}")
    return float(value)


class SoftmaxCrossEntropyCriterion(_Head):
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

    def _terms_and_prediction(self, z, y):
        # the log-softmax once, for both the loss and the probabilities
        log_p = log_softmax(z)
        terms = -y * log_p
        return terms, np.exp(log_p, out=log_p)


class SigmoidBCECriterion(_Head):
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

    def _loss_terms(self, z, y, pred):
        return np.logaddexp(0, z) - y * z


class SquaredErrorCriterion(_Head):
    """Identity + half squared error, as scikit-learn's MLP reports it:
    ``0.5 * mean over outputs of (z - y)**2``, averaged over samples."""

    out_activation = "identity"

    def activate(self, z):
        return z.copy()

    def _loss_terms(self, z, y, pred):
        d = z - y
        return (0.5 / z.shape[1]) * d * d if z.ndim == 2 else 0.5 * d * d

    def _grad_factor(self, z):
        return 1.0 / z.shape[1] if z.ndim == 2 else 1.0


class ExpPoissonCriterion(_Head):
    """Exp + half Poisson deviance on log-means ``z``: ``sum_k [y log(y) - y - y z + exp(z)]``."""

    out_activation = "exp"

    def activate(self, z):
        return np.exp(z)

    def _loss_terms(self, z, y, pred):
        return xlogy(y, y) - y - y * z + pred


# -- robust regression heads ------------------------------------------------------------
def _columns(z):
    """Number of output values per sample (1 for a 1-D input)."""
    return int(np.prod(z.shape[1:])) if z.ndim > 1 else 1


class _ResidualHead(_Head):
    """An identity head whose loss is a function of the residual ``d = z - y``:
    ``loss = mean over samples of mean over outputs of rho(d)``; its gradient is
    ``rho'(d) / n_outputs`` times the sample's weight in the mean.

    Subclasses implement ``_rho(d) -> (rho(d), rho'(d))``, new arrays."""

    out_activation = "identity"

    def activate(self, z):
        return z.copy()

    def _rho(self, d):
        raise NotImplementedError

    def _terms_and_slopes(self, input, target):
        d = input - self._target(input, target)
        return self._rho(d)

    def loss_and_grad(self, input, target, sample_weight=None):
        """Return ``(loss, gradInput)`` from one evaluation of ``rho``."""
        scale = _sample_scale(input, sample_weight)
        terms, slopes = self._terms_and_slopes(input, target)
        per_output = 1.0 / _columns(input)
        self.output = _mean(terms, scale) * per_output
        slopes *= scale * per_output
        self.gradInput = slopes
        return self.output, self.gradInput

    def updateOutput(self, input, target, sample_weight=None):
        terms, _ = self._terms_and_slopes(input, target)
        self.output = _mean(terms, _sample_scale(input, sample_weight)) / _columns(input)
        return self.output


class HuberCriterion(_ResidualHead):
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


class AbsCriterion(_ResidualHead):
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


class PinballCriterion(_ResidualHead):
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
        columns = _columns(input)
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

    def __repr__(self):
        return f"PinballCriterion(quantiles={self.quantiles})"
