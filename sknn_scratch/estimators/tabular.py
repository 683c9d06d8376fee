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

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._tabular_base import _TabularNet
from ._tabular_params import CLASSIFIER_CONSTRAINTS, REGRESSOR_CONSTRAINTS, document_estimators
from .classifier import NumpyNetClassifier
from .regressor import NumpyNetRegressor

__all__ = ["TabularNetClassifier", "TabularNetRegressor"]


class TabularNetClassifier(_TabularNet, NumpyNetClassifier):
    """Neural-network classifier for tables as they come: DataFrames with numeric,
    categorical and missing values, with defaults that are good without tuning.

    The network follows RealMLP-TD (see :mod:`sknn_scratch.estimators.tabular` and the
    "Tabular data" page): the table is encoded inside the estimator, numbers go through
    periodic embeddings and categories through one-hot columns or learned embeddings,
    two hidden layers of 256 units train with AdamW on a ``coslog4`` schedule with
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
        hidden_layer_sizes=(256, 256),
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

    def _stratify(self, Y, y):
        # a class of one row cannot be on both sides of the split: none is stratified then,
        # two classes as several (MLP refuses a binary problem of that kind)
        if self.n_outputs_ == 1 and np.unique(y, return_counts=True)[1].min() < 2:
            return None
        return super()._stratify(Y, y)


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
        hidden_layer_sizes=(256, 256),
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
    # in float64 until standardised: a target far from 0 (1e9 + a few units) keeps its digits
    def _targets(self, y, dtype, incremental):
        Y, y = super()._targets(y, np.float64, incremental)
        if not incremental:
            poisson = self._nonnegative_targets()  # a log link: divided by the mean only
            centre = np.zeros(Y.shape[1]) if poisson else Y.mean(axis=0)
            spread = Y.mean(axis=0) if poisson else Y.std(axis=0)
            self._target_centre = centre.astype(np.float64)
            self._target_scale = np.where(spread > 0, spread, 1.0).astype(np.float64)
            self._target_range = np.stack([Y.min(axis=0), Y.max(axis=0)]).astype(np.float64)
        return ((Y - self._target_centre) / self._target_scale).astype(dtype), y

    def _validation_targets(self, y, dtype):
        Y, y = super()._validation_targets(y, np.float64)
        return ((Y - self._target_centre) / self._target_scale).astype(dtype), y

    def _in_target_units(self, pred):
        """Predictions of the network mapped back to the target's units (in float64, also
        those of a float32 network scored during training), and clipped to the range of the
        training targets."""
        per_target = getattr(self._criterion, "outputs_per_target", 1)
        centre, scale = (np.repeat(v, per_target) for v in (self._target_centre, self._target_scale))
        low, high = (np.repeat(v, per_target) for v in self._target_range)
        return np.clip(pred * scale + centre, low, high)

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
