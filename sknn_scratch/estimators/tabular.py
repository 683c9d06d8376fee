"""``TabularNetClassifier`` and ``TabularNetRegressor``: networks for tables as they come.

They take DataFrames with numeric, categorical and missing values (and arrays), encode
them inside the estimator (:mod:`._table`) and train a network built after RealMLP-TD
(Holzmueller et al., 2024), on the same engine and training loop as the drop-in
estimators:

* numbers through a numeric embedding (``"pbld"``: periodic features of learned
  frequencies, a linear map, and the value itself), large categorical columns through
  learned embeddings, everything through a learned scale per input;
* hidden layers whose weights train as in the NTK parametrisation (each weight's
  learning rate divided by the square root of its layer's inputs), initialised from the
  data: unit output variance on a sample of the rows, and offsets that place each unit's
  kink among the rows' values;
* an activation mixed with the identity by a learned weight per unit, dropout and
  decoupled weight decay that fade out over the second half of training, AdamW on the
  ``coslog4`` schedule, label smoothing for classification and a standardised target
  for regression;
* a fifth of the rows held out, and the weights of the epoch that scored best on them
  kept.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names, _check_n_features, check_is_fitted, column_or_1d

from ..callbacks import Callback
from ..nn import Criterion, Dropout, Linear, Sequential
from ..optim.schedules import FlatCos
from ..registry import ACTIVATIONS, CRITERIA
from ._atomic import training
from ._base import with_callbacks
from ._data import check_sample_weight
from ._docs import SHARED_ATTRIBUTES, document
from ._params import CONSTRAINTS, RegisteredName
from ._table import check_table_shape, encode_table, fit_table, layout
from ._training import callback_list
from .classifier import NumpyNetClassifier
from .regressor import NumpyNetRegressor

__all__ = ["TabularNetClassifier", "TabularNetRegressor"]

#: the numeric embeddings by name (None: the numbers as they are)
NUMERIC_EMBEDDINGS = ("pbld", "periodic", "piecewise_linear")
#: learning-rate factors of the parts of the network (RealMLP-TD's)
LR_FACTORS = {"offsets": 0.1, "scale": 6.0, "mix": 0.1, "numeric": 0.1}
#: weight-decay factors of the same parts: AdamW decays by lr * weight_decay * lr_factor *
#: decay_factor, RealMLP by lr * weight_decay * lr_factor**2, so these equal the factors above
DECAY_FACTORS = {"scale": 6.0, "mix": 0.1, "numeric": 0.1}
#: the fitted attributes shown, in order (the classifier's start with classes_)
_ATTRIBUTES = {
    True: ["classes_", *SHARED_ATTRIBUTES, "out_activation_"],
    False: [*SHARED_ATTRIBUTES, "out_activation_"],
}
#: optimizer steps an "auto" training aims at (at least 16 epochs, at most MAX_EPOCHS)
STEP_BUDGET = 512
MAX_EPOCHS = 96


def _common_constraints():
    keep = ("random_state", "verbose", "callbacks", "validation_fraction")
    return {
        **{name: CONSTRAINTS[name] for name in keep},
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [RegisteredName(ACTIVATIONS)],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "numeric_embedding": [StrOptions(set(NUMERIC_EMBEDDINGS)), None],
        "categorical_embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
        "n_ensembles": [Interval(Integral, 1, None, closed="left")],
    }


class _Regularisation(Callback):
    """Dropout and weight decay that fade out with a schedule: before every step, each
    Dropout layer's rate and the optimizer's weight decay are their initial values times
    ``schedule(t, T)`` (``flat_cos``: constant for half the steps, then a cosine to 0)."""

    def __init__(self, dropout, weight_decay, schedule):
        self.dropout, self.weight_decay, self.schedule = dropout, weight_decay, schedule

    def _set(self, estimator):
        optimizer = estimator.optimizer_
        factor = self.schedule(optimizer.t, optimizer.total_steps) if optimizer.total_steps else 1.0
        for layer in estimator.network_.leaves():
            if isinstance(layer, Dropout):
                layer.p = self.dropout * factor
        optimizer.weight_decay = self.weight_decay * factor

    def on_fit_begin(self, estimator, logs):
        self._set(estimator)

    def on_batch_end(self, estimator, logs):
        self._set(estimator)

    def on_fit_end(self, estimator, logs):  # the network shows its dropout rate, not the faded one
        for layer in estimator.network_.leaves():
            if isinstance(layer, Dropout):
                layer.p = self.dropout


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


def _ntk_linear(n_in, n_out, rng, dtype):
    """A linear layer that trains as in the NTK parametrisation ``x @ W.T / sqrt(n_in)``:
    with Adam, the same as a plain weight whose learning rate is divided by ``sqrt(n_in)``
    (and whose decay is multiplied by it, so that a step decays it as much); offsets train
    ten times slower and do not decay."""
    layer = Linear(n_in, n_out, rng=rng, dtype=dtype)
    root = math.sqrt(n_in)
    layer.lr_factors = {"W": 1.0 / root, "b": LR_FACTORS["offsets"]}
    layer.decay_factors = {"W": root, "b": 0.0}
    return layer


def _init_from_data(net, X, rng, n_rows=1024, n_simplex=5):
    """Initialise the linear layers of ``net`` on up to ``n_rows`` rows of ``X``, layer
    after layer (RealMLP's ``std`` and ``he+5``): Gaussian weights scaled so that every
    unit's output has unit variance on those rows, and offsets that put each unit's zero
    at a random convex combination of ``n_simplex`` rows' values, so that the kinks of
    the activations fall among the data."""
    rows = X if len(X) <= n_rows else X[rng.choice(len(X), n_rows, replace=False)]
    net.evaluate()
    x = rows
    for module in net.modules:
        if isinstance(module, Linear):
            W = rng.standard_normal((module.n_in, module.n_out)).astype(module.W.dtype)
            z = x @ W
            spread = z.std(axis=0)
            W /= np.where(spread > 0, spread, 1.0)
            z = x @ W
            picks = rng.integers(0, len(x), size=(module.n_out, n_simplex))
            weights = rng.exponential(size=(module.n_out, n_simplex))
            weights /= weights.sum(axis=1, keepdims=True)
            module.W[...] = W.T
            module.b[...] = -(z[picks, np.arange(module.n_out)[:, None]] * weights).sum(axis=1)
        x = module.forward(x)
    net.train()
    net.clearState()


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

    _parameter_constraints: dict = {
        **_common_constraints(),
        "label_smoothing": [Interval(Real, 0, 1, closed="both")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

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

    _parameter_constraints: dict = {
        **_common_constraints(),
        "loss": [RegisteredName(CRITERIA), tuple, Criterion],
    }

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


_TABULAR_PARAMETERS = {
    "hidden_layer_sizes": """hidden_layer_sizes : array-like of int, default=(256, 256, 256)
    Units of each hidden layer.""",
    "activation": """activation : str, default="selu" (classifier), "mish" (regressor)
    The hidden activation (any registered name), mixed with the identity by a learned
    weight per unit that starts at 1.""",
    "dropout": """dropout : float in [0, 1), default=0.15
    Dropout rate after every hidden layer for the first half of training, then fading
    out to 0 along a cosine.""",
    "weight_decay": """weight_decay : float, default=0.02
    Decoupled weight decay (AdamW's) of the weights, embeddings, numeric embeddings,
    activation mixes and input scales (not of offsets), fading out as ``dropout`` does.
    A part trained at a learning-rate factor ``f`` (0.1 for the embeddings and mixes, 6
    for the input scales) decays by ``lr * weight_decay * f**2`` per step, as in
    RealMLP-TD.""",
    "learning_rate_init": """learning_rate_init : float, default=0.04 (classifier), 0.2 (regressor)
    The peak learning rate of the ``coslog4`` schedule (four cosine cycles on a log time
    scale). A hidden weight's rate is divided by the square root of its layer's inputs.""",
    "max_iter": """max_iter : int or "auto", default="auto"
    Epochs. ``"auto"`` plans about 512 optimizer steps: 96 epochs on up to about
    1,300 training rows, fewer on more (at least 16).""",
    "batch_size": """batch_size : int, default=256
    Rows per mini-batch, at most: the training rows are split into ``n // batch_size``
    batches of nearly equal size (one when there are fewer rows), so that no small last
    batch takes a full step.""",
    "label_smoothing": """label_smoothing : float in [0, 1], default=0.1
    Label smoothing of the cross-entropy (set 0 when probabilities must be calibrated
    as tightly as possible).""",
    "numeric_embedding": """numeric_embedding : {"pbld", "periodic", "piecewise_linear"} or None, default="pbld"
    How each numeric column enters the network (see
    :class:`~sknn_scratch.nn.NumericEmbedding`); None passes the scaled numbers as they
    are.""",
    "categorical_embedding_dim": """categorical_embedding_dim : int, default=8
    Size of the learned vector of each category of a column with more than 8 categories.
    Columns with fewer become one-hot columns (a column of two categories one column of
    +1 and -1), scaled and passed to the network without a numeric embedding.""",
    "categorical_features": """categorical_features : "from_dtype", array-like or None, default="from_dtype"
    Which columns are categorical: ``"from_dtype"`` takes DataFrame columns of dtype
    ``category``, ``object``, ``string`` and ``bool`` (and text columns of arrays); or
    the columns' names, indices or a boolean mask; None: none.""",
    "validation_fraction": """validation_fraction : float in (0, 1), default=0.2
    Share of the rows held out (stratified for classification) to pick the best epoch,
    whose weights are kept; ``fit``'s ``X_val``, ``y_val`` replace it.""",
    "n_ensembles": """n_ensembles : int, default=1
    Networks trained, each with its own seed (held-out rows, initial weights, batches);
    their logits (classification) or predictions (regression) are averaged. With more
    than one, ``estimators_`` holds them (fitted estimators with ``n_ensembles=1``) and the
    other fitted attributes are the first one's.""",
    "loss": """loss : str, (str, dict) or Criterion, default="squared_error"
    The regression loss, on the standardised target: ``"squared_error"``,
    ``"absolute_error"``, ``"huber"``, ``("quantile", {"quantiles": (0.1, 0.5, 0.9)})``
    or ``"poisson"`` (for counts: the target divided by its mean).""",
    "class_weight": """class_weight : dict, "balanced" or None, default=None
    Weights of the classes, multiplied into ``sample_weight``.""",
}
for _cls in (TabularNetClassifier, TabularNetRegressor):
    document(
        _cls,
        parameters=_TABULAR_PARAMETERS,
        attributes={
            "classes_": """classes_ : ndarray of shape (n_classes,)
    The class labels.""",
            "out_activation_": """out_activation_ : str
    The output activation of the loss (softmax, logistic, identity, exp).""",
        },
        attribute_order=_ATTRIBUTES[_cls is TabularNetClassifier],
    )
del _cls
