"""``NumpyNetRegressor``: a drop-in superset of scikit-learn's ``MLPRegressor``."""

from __future__ import annotations

from typing import Self

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import MultiOutputMixin, RegressorMixin
from sklearn.metrics import d2_pinball_score, r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d

from ..nn import Criterion
from ..nn.losses import ExpPoissonCriterion, PinballCriterion
from ..registry import CRITERIA
from ._atomic import training
from ._base import BaseNumpyNet
from ._docs import SHARED_ATTRIBUTES, document
from ._params import PARAMETER_TEXTS, RegisteredName, check_loss, component, spec_name

__all__ = ["NumpyNetRegressor"]

_SPLIT = SHARED_ATTRIBUTES.index("n_outputs_") + 1  # out_activation_ follows n_outputs_


class NumpyNetRegressor(MultiOutputMixin, RegressorMixin, BaseNumpyNet):
    """Neural-network regressor: ``MLPRegressor``'s parameters, methods and attributes,
    plus convolutional, pooling, dropout and batch-norm layers.

    Parameters
    ----------
    <<parameters>>

    Attributes
    ----------
    <<attributes>>

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sknn_scratch import NumpyNetRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> reg = NumpyNetRegressor(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=200, random_state=0)
    >>> reg.fit(X, y).score(X, y) > 0.5
    True
    """

    _parameter_constraints: dict = {
        **BaseNumpyNet._parameter_constraints,
        "loss": [RegisteredName(CRITERIA), tuple, Criterion],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        layers=None,
        input_shape=None,
        channels_last=None,
        dropout=0.0,
        batch_norm=False,
        callbacks=None,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.layers = layers
        self.input_shape = input_shape
        self.channels_last = channels_last
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.callbacks = callbacks

    #: validate_data's checks of the targets
    _y_checks = {"multi_output": True, "y_numeric": True}

    def _targets(self, y, dtype, incremental):
        """``(Y, y)``: the targets as the network's 2-D array, and as given (in ``dtype``)."""
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        y = np.asarray(y, dtype=dtype)
        if self._nonnegative_targets() and np.any(y < 0):
            raise ValueError("loss='poisson' requires non-negative y.")
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        return Y, y

    def _nonnegative_targets(self):
        """Whether the loss needs targets >= 0 (Poisson)."""
        return spec_name(self.loss) == "poisson" or isinstance(self.loss, ExpPoissonCriterion)

    def _validation_targets(self, y, dtype):
        y = np.asarray(y, dtype=dtype)
        if self._nonnegative_targets() and np.any(y < 0):
            raise ValueError(f"loss={self.loss!r} requires non-negative y, also in the validation set.")
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        n_targets = self.n_outputs_ // getattr(self._criterion, "outputs_per_target", 1)
        if Y.ndim != 2 or Y.shape[1] != n_targets:
            raise ValueError(f"the validation set's y has shape {y.shape}; the network was trained on {n_targets}")
        return Y, y

    def _make_criterion(self, settings):
        return check_loss(component(settings.loss, CRITERIA, "loss"), False, settings.loss)

    def _score_predictions(self, scores, y, sample_weight):
        pred = self._criterion.activate(scores)
        if not np.isfinite(pred).all():
            return np.nan
        return _score(self._criterion, y, pred, sample_weight)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Run one epoch over ``(X, y)``, continuing the training (one epoch of a new
        network on the first call).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        with training(self) as est:
            est._fit(X, y, sample_weight, incremental=True)
        return self

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predict targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            With ``loss="quantile"`` and several quantiles, one column per quantile (of
            each target, the quantiles of a target side by side), in the order given.
        """
        model = self._fitted_model()
        scores = model._validated_scores(X)
        pred = model._criterion.activate(scores)
        return pred.ravel() if pred.shape[1] == 1 else pred

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """The coefficient of determination R^2 of ``predict(X)`` against ``y``; with
        ``loss="quantile"``, the D^2 pinball score instead (R^2's counterpart for
        quantiles: the fraction of the pinball loss of a constant quantile that the model
        removes, averaged over the quantiles).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        model = self._fitted_model()
        if not isinstance(getattr(model, "_criterion", None), PinballCriterion):
            return super().score(X, y, sample_weight=sample_weight)
        return _score(model._criterion, np.asarray(y, dtype=float), model.predict(X), sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


document(
    NumpyNetRegressor,
    parameters={
        **PARAMETER_TEXTS,
        "loss": """loss : str, (str, dict) or Criterion, default="squared_error"
    The loss, which also gives the output activation: ``"squared_error"`` (MLP's: half
    the mean squared error of an identity output) or ``"poisson"`` (MLP's: half the
    Poisson deviance of an exponential output; targets must be non-negative), or any
    other registered criterion whose predictions are not probabilities (``"huber"``,
    ``"absolute_error"``, ...), also as a ``(name, kwargs)`` pair
    (``("huber", {"delta": 2.0})``) or an instance.""",
        "early_stopping": """early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the rows (or use the validation set given to
    ``fit``, ``X_val``/``y_val`` or ``validation_data``), stop when the validation R^2
    has not improved by ``tol`` for ``n_iter_no_change`` epochs, and restore the best
    epoch's weights. With a callback that decides when training ends (e.g.
    ``EarlyStopping``) that callback stops training instead; the split and the
    restoring stay.""",
    },
    attributes={
        "out_activation_": """out_activation_ : str
    ``"identity"`` (``loss="squared_error"``), ``"exp"`` (``loss="poisson"``) or the
    head's own.""",
    },
    attribute_order=[*SHARED_ATTRIBUTES[:_SPLIT], "out_activation_", *SHARED_ATTRIBUTES[_SPLIT:]],
)


def _score(criterion, y, pred, sample_weight):
    """R^2 of the predictions; for a quantile loss, the mean over its quantiles of D^2
    pinball (scikit-learn's ``d2_pinball_score``)."""
    if isinstance(criterion, PinballCriterion):
        q = len(criterion.quantiles)
        pred = pred.reshape(len(pred), -1, q)  # (rows, targets, quantiles)
        y = y.reshape(len(y), -1)
        return float(np.mean([
            d2_pinball_score(y, pred[:, :, i], alpha=tau, sample_weight=sample_weight)
            for i, tau in enumerate(criterion.quantiles)
        ]))  # fmt: skip
    if len(y) < 2:  # undefined: scikit-learn's warning and NaN
        return float(r2_score(y, pred.ravel() if y.ndim == 1 else pred, sample_weight=sample_weight))
    return _r2(y, pred, sample_weight)


def _r2(y, pred, sample_weight):
    """scikit-learn's ``r2_score`` (the mean over the outputs, a constant target scoring 1
    when predicted exactly and 0 otherwise), computed as it does but without its input
    checks, which cost more than a small validation set's forward pass every epoch."""
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    pred = pred.reshape(len(y), -1)
    weight = 1.0 if sample_weight is None else np.asarray(sample_weight)[:, None]
    numerator = np.sum(weight * (y - pred) ** 2, axis=0)
    denominator = np.sum(weight * (y - np.average(y, axis=0, weights=sample_weight)) ** 2, axis=0)
    scores = np.ones(y.shape[1])
    fraction = denominator != 0
    scores[fraction] = 1 - numerator[fraction] / denominator[fraction]
    scores[(numerator != 0) & ~fraction] = 0.0
    return float(np.mean(scores))
