"""MLP's fitted attributes, read from the network and the training record.

``coefs_`` and ``intercepts_`` are views of the network's linear layers; ``n_iter_``,
``t_``, ``loss_``, the curves and the best loss and score are fields of the estimator's
:class:`~sknn_scratch.estimators._training.TrainingState`, which only training writes.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._plain import from_plain, to_plain
from ..nn import Linear
from ._training import TrainingState


def _field(name, doc, curve=False):
    """A read-only attribute showing field ``name`` of the training record; a ``curve``
    is one MLP keeps for its stochastic solvers only (missing after L-BFGS)."""

    def read(self):
        check_is_fitted(self, "network_")
        if curve and self._state.loss_curve is None:
            raise AttributeError(f"{type(self).__name__} trained with solver='lbfgs' has no {name}_")
        return getattr(self._state, name)

    return property(read, doc=doc)


class FittedAttributes:
    """The fitted attributes of scikit-learn's MLP (and a few more), derived from
    ``network_``, ``optimizer_`` and ``_state``; and the estimator's pickled state, as
    plain values."""

    n_iter_ = _field("n_iter", "Epochs (L-BFGS: iterations) of the last fit.")
    t_ = _field("t", "Training samples seen.")
    loss_ = _field("loss", "Loss of the last epoch (L-BFGS: of the solution).")
    loss_curve_ = _field("loss_curve", "Training loss of each epoch.", curve=True)
    best_loss_ = _field("best_loss", "Best training loss (None with early stopping).", curve=True)
    validation_scores_ = _field("validation_scores", "Validation score of each epoch.", curve=True)
    validation_loss_curve_ = _field("validation_loss_curve", "Validation loss of each epoch.", curve=True)
    best_validation_score_ = _field("best_validation_score", "Best validation score.", curve=True)
    learning_rate_curve_ = _field("learning_rates", "Learning rate of each epoch.", curve=True)

    @property
    def learning_rate_(self):
        """The optimizer's current learning rate (None for ``"lbfgs"``). Read-only: a
        callback changes ``optimizer_.learning_rate``."""
        check_is_fitted(self, "network_")
        return None if self.optimizer_ is None else self.optimizer_.learning_rate

    @learning_rate_.setter
    def learning_rate_(self, value):
        raise AttributeError("learning_rate_ is read-only: set estimator.optimizer_.learning_rate")

    @property
    def n_layers_(self):
        """Number of linear layers + 1 (MLP's count of layers for dense networks)."""
        return len(self._linear_layers()) + 1

    def _linear_layers(self):
        check_is_fitted(self, "network_")
        return [m for m in self.network_.leaves() if isinstance(m, Linear)]

    @property
    def coefs_(self):
        """Weights of the linear layers, shaped ``(n_in, n_out)`` as in MLP (views:
        in-place changes reach the network)."""
        return [m.W.T for m in self._linear_layers()]

    @coefs_.setter
    def coefs_(self, values):
        self._assign(values, "W", transpose=True)

    @property
    def intercepts_(self):
        """Offsets of the linear layers, shaped ``(n_out,)`` (views)."""
        return [m.b for m in self._linear_layers()]

    @intercepts_.setter
    def intercepts_(self, values):
        self._assign(values, "b", transpose=False)

    def _assign(self, values, name, transpose):
        layers = self._linear_layers()
        values = list(values)
        if len(values) != len(layers):
            raise ValueError(f"expected {len(layers)} arrays, one per linear layer, got {len(values)}")
        for layer, value in zip(layers, values, strict=True):
            current = getattr(layer, name)
            value = np.asarray(value).T if transpose else np.asarray(value)
            if value.shape != current.shape:
                shown = value.T.shape if transpose else value.shape
                expected = current.T.shape if transpose else current.shape
                raise ValueError(f"array of shape {shown} does not fit a parameter of shape {expected}")
            if not current.flags.writeable:
                current = current.copy()
                setattr(layer, name, current)
            current[...] = value

    # -- persistence ------------------------------------------------------------------------
    def __getstate__(self):
        """Parameters, optimizer state and settings as plain values (see
        :mod:`sknn_scratch._plain`): no engine class, no scratch array."""
        state = super().__getstate__()
        if isinstance(state.get("_state"), TrainingState):
            state = {**state, "_state": vars(state["_state"])}
        return to_plain(state)

    def __setstate__(self, state):
        state = from_plain(state)
        if isinstance(state.get("_state"), dict):
            state["_state"] = TrainingState(**state["_state"])
        super().__setstate__(state)
