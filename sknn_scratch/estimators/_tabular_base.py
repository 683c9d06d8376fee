"""What :class:`TabularNetClassifier` and :class:`TabularNetRegressor` share: their
settings in the training loop's words, the number of epochs, the table's encoding
(:mod:`._table`) on the way in, several networks (``n_ensembles``), and the network,
assembled from the layers of :mod:`sknn_scratch.nn` and trained as :mod:`._tabular_net`
says.
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_feature_names, _check_n_features, check_is_fitted, column_or_1d

from ..nn import Dropout, Sequential
from ..optim.schedules import FlatCos
from ._atomic import training
from ._base import with_callbacks
from ._data import check_known_targets, check_sample_weight
from ._table import check_table_shape, encode_table, fit_table, layout
from ._tabular_net import DECAY_FACTORS, LR_FACTORS, _init_from_data, _ntk_linear, _Regularisation
from ._tabular_params import MAX_EPOCHS, STEP_BUDGET
from ._training import callback_list

__all__ = ["_TabularNet"]


def _seeds(random_state, n):
    """``n`` seeds drawn from ``random_state``: an int or a RandomState as scikit-learn
    draws, a Generator by its own draws, None from fresh entropy (never from NumPy's
    global random state)."""
    if isinstance(random_state, np.random.Generator):
        return random_state.integers(np.iinfo(np.int32).max, size=n)
    source = np.random.RandomState() if random_state is None else check_random_state(random_state)
    return source.randint(np.iinfo(np.int32).max, size=n)


class _TabularNet:
    """What the tabular estimators share; mixed in before the drop-in estimators, whose
    targets, losses and predictions they keep."""

    # -- the settings of a fit, in the training loop's words --------------------------------
    def _settings(self):
        self._validate_params()
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if not all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must hold integers > 0, got {self.hidden_layer_sizes!r}")
        from types import SimpleNamespace

        settings = SimpleNamespace(
            **self.get_params(deep=False),
            solver=("adamw", {"weight_decay": self.weight_decay}),
            beta_1=0.9,
            beta_2=0.95,
            epsilon=1e-8,
            learning_rate="coslog4",
            power_t=0.5,
            alpha=0.0,
            shuffle=True,
            tol=0.0,
            n_iter_no_change=np.inf,  # no stopping: every epoch trains, the best one is kept
            early_stopping=True,
            keep_last_best=True,
            fixed_epochs=True,
            warm_start=False,
            layers=None,
            input_shape=None,
            batch_norm=False,
            momentum=0.9,
            nesterovs_momentum=False,
            max_fun=15000,
            architecture=None,  # no warm start: every fit builds a new network
        )
        # the fading of dropout and weight decay runs before the user's callbacks
        settings.callbacks = [
            _Regularisation(self.dropout, self.weight_decay, FlatCos()),
            *callback_list(self.callbacks),
        ]
        return settings

    def _adapt(self, settings, n_train):
        """Batches of at most the training rows, and the epochs of ``max_iter="auto"``."""
        # n_train // batch_size batches of nearly equal size (at least one): no last batch of a
        # few rows taking a full step
        settings.batch_size = -(-n_train // max(n_train // min(settings.batch_size, n_train), 1))
        if settings.max_iter == "auto":
            steps_per_epoch = -(-n_train // settings.batch_size)
            settings.max_iter = int(np.clip(math.ceil(STEP_BUDGET / steps_per_epoch), 16, MAX_EPOCHS))

    # -- tables in ---------------------------------------------------------------------------
    #: summary() needs a fitted table
    _table_network = True

    def _encode(self, X, reset):
        """``X`` encoded for the network (the encoding fitted on it when ``reset``)."""
        shape = check_table_shape(X)
        if shape[0] == 0:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={shape}) while a minimum of 1 is required by "
                f"{type(self).__name__}."
            )
        _check_feature_names(self, X, reset=reset)
        _check_n_features(self, X, reset=reset)
        if reset:
            self._table = fit_table(X, self.categorical_features)
            n_numbers, n_other, cardinalities = layout(self._table)
            self._n_inputs = n_numbers + n_other + len(cardinalities)
        return encode_table(self._table, X, dtype=np.float32)

    def _validated_rows(self, X, y="no_validation", *, reset):
        """The table ``X`` encoded (see :meth:`_encode`) and ``y`` checked as scikit-learn
        checks targets."""
        if isinstance(y, str) and y == "no_validation":
            return self._encode(X, reset)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        X = self._encode(X, reset)
        y = np.asarray(y)
        check_known_targets(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if len(y) != len(X):
            raise ValueError(f"Found input variables with inconsistent numbers of samples: [{len(X)}, {len(y)}]")
        return X, y

    def _validated_scores(self, X):
        """The network's raw scores for the rows of ``X``; with several networks, the mean
        of theirs (for classification, of the logits)."""
        check_is_fitted(self, "network_")
        X = self._encode(X, reset=False)
        members = getattr(self, "estimators_", None) or [self]
        # predictions in float64, as scikit-learn's estimators give them: a row's prediction
        # then depends on the rows predicted with it in its last bits only (products round
        # differently at different places in a matrix, float32 ones in the seventh digit)
        X = X.astype(np.float64)
        return np.mean([member._scores(X, np.float64) for member in members], axis=0)

    def _fit(self, X, y, sample_weight=None, *, incremental, validation=None):
        # the working copy of a fit of one network (see ._atomic.training) drops the networks of an earlier fit
        self.__dict__.pop("estimators_", None)
        return super()._fit(X, y, sample_weight, incremental=incremental, validation=validation)

    # -- several networks --------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None, validation_data=None):
        """Fit the network (``n_ensembles`` networks) to the table ``X`` and ``y``.

        Parameters
        ----------
        X : {DataFrame, array-like, sparse matrix} of shape (n_samples, n_features)
            The table as it comes: numeric, categorical and missing values.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
        X_val : {DataFrame, array-like} of shape (n_val_samples, n_features), default=None
            Rows that pick the best epoch instead of a held-out share of ``X``.
        y_val : array-like of shape (n_val_samples,) or (n_val_samples, n_outputs), default=None
            The targets of ``X_val``.
        sample_weight_val : array-like of shape (n_val_samples,), default=None
        validation_data : tuple, default=None
            ``(X_val, y_val)`` or ``(X_val, y_val, sample_weight_val)``.

        Returns
        -------
        self
        """
        fit_one = super().fit
        validation = dict(
            X_val=X_val, y_val=y_val, sample_weight_val=sample_weight_val, validation_data=validation_data
        )
        if self.n_ensembles == 1:
            return fit_one(X, y, sample_weight, **validation)
        self._validate_params()
        with training(self) as est:
            est._fit_ensemble(X, y, sample_weight, validation)
        return self

    @with_callbacks  # scikit-learn's callbacks: the fit is a task, each network's fit a subtask
    def _fit_ensemble(self, X, y, sample_weight, validation):
        """Fit ``n_ensembles`` networks, each with its own seed (hence its own held-out
        rows, initial weights and batches), and keep them in ``estimators_``. The
        ``callbacks`` objects see each network's training in turn."""
        seeds = _seeds(self.random_state, self.n_ensembles)
        task = None
        if getattr(self, "_skl_callbacks", None):
            task = self._init_callback_context(max_subtasks=self.n_ensembles)
            task.call_on_fit_task_begin(estimator=self, X=X, y=y)
        members = []
        for seed in seeds:
            member = clone(self).set_params(n_ensembles=1, random_state=int(seed), callbacks=self.callbacks)
            if hasattr(member, "set_callbacks"):
                member.set_callbacks()  # scikit-learn's callbacks reach it from this fit's task
            if task is None:
                members.append(member.fit(X, y, sample_weight, **validation))
            else:
                subtask = task.subcontext(task_name="network")
                with subtask.propagate_callback_context(member):
                    subtask.call_on_fit_task_begin(estimator=self, X=X, y=y)
                    members.append(member.fit(X, y, sample_weight, **validation))
                    subtask.call_on_fit_task_end(estimator=self, X=X, y=y)
            if member._state.interrupted:  # Ctrl-C ends the whole fit: the networks trained so far are kept
                break
        params = set(self.get_params(deep=False))
        for stale in [k for k in self.__dict__ if k.endswith("_") and not k.startswith("_")]:  # an earlier fit's
            del self.__dict__[stale]
        self.__dict__.update({k: v for k, v in vars(members[0]).items() if k not in params})
        self.estimators_ = members
        if task is not None:
            task.call_on_fit_task_end(estimator=self, X=X, y=y, reconstruction_attributes={})

    def _validation_set(self, X_val, y_val, sample_weight_val, dtype):
        """The validation rows encoded as the training rows, with their targets."""
        X_val = self._encode(X_val, reset=False)
        check_known_targets(y_val, "y_val")
        Y_val, y_val = self._validation_targets(y_val, dtype)
        if Y_val.shape[0] != X_val.shape[0]:
            raise ValueError(f"the validation set has {X_val.shape[0]} rows of X but {Y_val.shape[0]} targets")
        return X_val, Y_val, y_val, check_sample_weight(sample_weight_val, X_val, what="sample_weight_val")

    # -- the network -----------------------------------------------------------------------
    def _build(self, settings, X, rng):
        from ..nn import FeatureScale, NumericEmbedding, ParametricActivation, TabularInput

        dtype = X.dtype
        n_numbers, n_other, cardinalities = layout(self._table)
        numeric = None
        if settings.numeric_embedding is not None and n_numbers:
            edges = None
            if settings.numeric_embedding == "piecewise_linear":
                edges = NumericEmbedding.piecewise_edges(X[:, :n_numbers], 16)
            numeric = NumericEmbedding(n_numbers, kind=settings.numeric_embedding, edges=edges, rng=rng, dtype=dtype)
            numeric.lr_factors = dict.fromkeys(numeric._parameters, LR_FACTORS["numeric"])
            numeric.decay_factors = dict.fromkeys(numeric._parameters, DECAY_FACTORS["numeric"])
        first = TabularInput(
            n_numbers, cardinalities, settings.categorical_embedding_dim, numeric, n_plain=n_other, rng=rng, dtype=dtype
        )
        width = first.output_shape((X.shape[1],))[0]
        scale = FeatureScale(width, dtype=dtype)
        scale.lr_factors = {"scale": LR_FACTORS["scale"]}
        scale.decay_factors = {"scale": DECAY_FACTORS["scale"]}
        modules = [first, scale]
        sizes = settings.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        n_in = width
        for size in sizes:
            mix = ParametricActivation(settings.activation, int(size), dtype=dtype)
            mix.lr_factors = dict.fromkeys(mix._parameters, LR_FACTORS["mix"])
            mix.decay_factors = dict.fromkeys(mix._parameters, DECAY_FACTORS["mix"])
            modules += [_ntk_linear(n_in, int(size), rng, dtype), mix]
            if settings.dropout:
                modules.append(Dropout(settings.dropout, rng=rng))
            n_in = int(size)
        modules.append(_ntk_linear(n_in, self.n_outputs_, rng, dtype))
        net = Sequential(*modules)
        _init_from_data(net, X, rng)
        return net

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.input_tags.sparse = True
        return tags


# -- the estimators --------------------------------------------------------------------------
