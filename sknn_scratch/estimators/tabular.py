"""``TabularNetClassifier`` and ``TabularNetRegressor``: networks for tables as they come.

They take DataFrames with numeric, categorical and missing values (and arrays), encode
them inside the estimator (:mod:`._table`) and train a network built after RealMLP-TD
(Holzmueller et al., 2024), on the same engine and training loop as the drop-in
estimators:

* numbers through a numeric embedding (``"pbld"``: periodic features of learned
  frequencies, a linear map, and the value itself), large categorical columns through
  learned embeddings, everything through a learned scale per input;
* hidden layers that train as in the NTK parametrisation and start from the data, each
  followed by an activation mixed with the identity by a learned weight per unit, with
  dropout and decoupled weight decay that fade out over the second half of training
  (:mod:`._tabular_net`); AdamW on the ``coslog4`` schedule, label smoothing for
  classification and a standardised target for regression;
* a fifth of the rows held out, and the weights of the epoch that scored best on them
  kept.
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
from ._data import check_sample_weight
from ._table import check_table_shape, encode_table, fit_table, layout
from ._tabular_net import DECAY_FACTORS, LR_FACTORS, _init_from_data, _ntk_linear, _Regularisation
from ._tabular_params import CLASSIFIER_CONSTRAINTS, MAX_EPOCHS, REGRESSOR_CONSTRAINTS, STEP_BUDGET, document_estimators
from ._training import callback_list
from .classifier import NumpyNetClassifier
from .regressor import NumpyNetRegressor

__all__ = ["TabularNetClassifier", "TabularNetRegressor"]


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
        check_table_shape(X)
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
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if len(y) != len(X):
            raise ValueError(f"Found input variables with inconsistent numbers of samples: [{len(X)}, {len(y)}]")
        if len(X) == 0:
            raise ValueError("Found array with 0 sample(s) (shape=(0, ...)) while a minimum of 1 is required.")
        return X, y

    def _validated_scores(self, X):
        """The network's raw scores for the rows of ``X``; with several networks, the mean
        of theirs (for classification, of the logits)."""
        check_is_fitted(self, "network_")
        X = self._encode(X, reset=False)
        members = getattr(self, "estimators_", None) or [self]
        # predictions in float64, as scikit-learn's estimators give them: a row's prediction
        # then does not depend on the rows predicted with it (float32 products round
        # differently at different places in a matrix)
        X = X.astype(np.float64)
        return np.mean([member._scores(X, np.float64) for member in members], axis=0)

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
        seeds = check_random_state(self.random_state).randint(np.iinfo(np.int32).max, size=self.n_ensembles)
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
                continue
            subtask = task.subcontext(task_name="network")
            with subtask.propagate_callback_context(member):
                subtask.call_on_fit_task_begin(estimator=self, X=X, y=y)
                members.append(member.fit(X, y, sample_weight, **validation))
                subtask.call_on_fit_task_end(estimator=self, X=X, y=y)
        params = set(self.get_params(deep=False))
        self.__dict__.update({k: v for k, v in vars(members[0]).items() if k not in params})
        self.estimators_ = members
        if task is not None:
            task.call_on_fit_task_end(estimator=self, X=X, y=y, reconstruction_attributes={})

    def _validation_set(self, X_val, y_val, sample_weight_val, dtype):
        """The validation rows encoded as the training rows, with their targets."""
        X_val = self._encode(X_val, reset=False)
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
class TabularNetClassifier(_TabularNet, NumpyNetClassifier):
    """Neural-network classifier for tables as they come: DataFrames with numeric,
    categorical and missing values, with defaults that are good without tuning.

    The network follows RealMLP-TD (see :mod:`sknn_scratch.estimators.tabular` and the
    "Tabular data" page): the table is encoded inside the estimator, numbers go through
    periodic embeddings and categories through one-hot columns or learned embeddings,
    three hidden layers of 256 units train with AdamW on a ``coslog4`` schedule with
    label smoothing, and the epoch that scores best on a held-out fifth of the rows is
    kept. ``predict_proba``, ``class_weight``, sample weights and validation sets work as
    in :class:`NumpyNetClassifier`.

    Parameters
    ----------
    <<parameters>>

    Attributes
    ----------
    <<attributes>>

    Examples
    --------
    >>> import pandas as pd
    >>> from sknn_scratch import TabularNetClassifier
    >>> df = pd.DataFrame({"size": [1.0, 2.5, None, 4.0] * 25, "colour": ["red", "blue", "red", None] * 25})
    >>> y = (df["size"].fillna(0) > 2).astype(int)
    >>> clf = TabularNetClassifier(max_iter=5, random_state=0).fit(df, y)
    >>> clf.predict_proba(df.head(2)).shape
    (2, 2)
    """

    _parameter_constraints: dict = CLASSIFIER_CONSTRAINTS

    def __init__(
        self,
        hidden_layer_sizes=(256, 256, 256),
        activation="selu",
        *,
        dropout=0.15,
        weight_decay=0.02,
        learning_rate_init=0.04,
        max_iter="auto",
        batch_size=256,
        label_smoothing=0.1,
        numeric_embedding="pbld",
        categorical_embedding_dim=8,
        categorical_features="from_dtype",
        validation_fraction=0.2,
        n_ensembles=1,
        class_weight=None,
        random_state=None,
        verbose=False,
        callbacks=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.label_smoothing = label_smoothing
        self.numeric_embedding = numeric_embedding
        self.categorical_embedding_dim = categorical_embedding_dim
        self.categorical_features = categorical_features
        self.validation_fraction = validation_fraction
        self.n_ensembles = n_ensembles
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def _settings(self):
        settings = super()._settings()
        settings.loss = ("log_loss", {"label_smoothing": float(self.label_smoothing)})
        return settings


class TabularNetRegressor(_TabularNet, NumpyNetRegressor):
    """Neural-network regressor for tables as they come: DataFrames with numeric,
    categorical and missing values, with defaults that are good without tuning.

    As :class:`TabularNetClassifier`, with Mish units, a learning rate of 0.2 and a
    standardised target (the network learns ``(y - mean) / std``; predictions are mapped
    back and clipped to the range of the training targets). ``loss`` chooses the loss
    as in :class:`NumpyNetRegressor` (squared, absolute, Huber on the standardised
    target, quantile, Poisson on a target divided by its mean); several targets are
    fitted together.

    Parameters
    ----------
    <<parameters>>

    Attributes
    ----------
    <<attributes>>

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sknn_scratch import TabularNetRegressor
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=200), "group": rng.choice(["a", "b", "c"], size=200)})
    >>> y = 1000 + 300 * df["x"] + (df["group"] == "b") * 500
    >>> reg = TabularNetRegressor(max_iter=20, random_state=0).fit(df, y)
    >>> reg.score(df, y) > 0.9
    True
    """

    _parameter_constraints: dict = REGRESSOR_CONSTRAINTS

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(256, 256, 256),
        activation="mish",
        *,
        dropout=0.15,
        weight_decay=0.02,
        learning_rate_init=0.2,
        max_iter="auto",
        batch_size=256,
        numeric_embedding="pbld",
        categorical_embedding_dim=8,
        categorical_features="from_dtype",
        validation_fraction=0.2,
        n_ensembles=1,
        random_state=None,
        verbose=False,
        callbacks=None,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.numeric_embedding = numeric_embedding
        self.categorical_embedding_dim = categorical_embedding_dim
        self.categorical_features = categorical_features
        self.validation_fraction = validation_fraction
        self.n_ensembles = n_ensembles
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    # -- the target, standardised ------------------------------------------------------------
    def _targets(self, y, dtype, incremental):
        Y, y = super()._targets(y, dtype, incremental)
        if not incremental:
            poisson = self._nonnegative_targets()  # a log link: divided by the mean only
            centre = np.zeros(Y.shape[1]) if poisson else Y.mean(axis=0)
            spread = Y.mean(axis=0) if poisson else Y.std(axis=0)
            self._target_centre = centre.astype(np.float64)
            self._target_scale = np.where(spread > 0, spread, 1.0).astype(np.float64)
            self._target_range = np.stack([Y.min(axis=0), Y.max(axis=0)]).astype(np.float64)
        return ((Y - self._target_centre) / self._target_scale).astype(dtype), y

    def _validation_targets(self, y, dtype):
        Y, y = super()._validation_targets(y, dtype)
        return ((Y - self._target_centre) / self._target_scale).astype(dtype), y

    def _in_target_units(self, pred):
        """Predictions of the network mapped back to the target's units, and clipped to the
        range of the training targets."""
        per_target = getattr(self._criterion, "outputs_per_target", 1)
        centre, scale = (np.repeat(v, per_target) for v in (self._target_centre, self._target_scale))
        low, high = (np.repeat(v, per_target) for v in self._target_range)
        return np.clip(pred * scale + centre, low, high).astype(pred.dtype, copy=False)

    def _score_predictions(self, scores, y, sample_weight):
        return super()._score_predictions(self._raw_scores(scores), y, sample_weight)

    def _raw_scores(self, scores):
        """Scores whose activation gives predictions in the target's units."""
        pred = self._in_target_units(self._criterion.activate(scores))
        if self._criterion.out_activation == "exp":
            return np.log(np.maximum(pred, np.finfo(pred.dtype).tiny))
        return pred

    def predict(self, X):
        """Predict targets, in their units, within the range of the training targets.

        Parameters
        ----------
        X : {array-like, DataFrame, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        check_is_fitted(self, "network_")
        model = self._fitted_model()
        pred = model._in_target_units(model._criterion.activate(model._validated_scores(X)))
        return pred.ravel() if pred.shape[1] == 1 else pred


document_estimators(TabularNetClassifier, TabularNetRegressor)
