"""``NumpyNetClassifier``: a drop-in superset of scikit-learn's ``MLPClassifier``."""

from __future__ import annotations

from typing import Self

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from ..nn import Criterion
from ..nn.losses import SigmoidBCECriterion, SoftmaxCrossEntropyCriterion
from ..registry import CRITERIA
from ._atomic import training
from ._base import BaseNumpyNet
from ._docs import SHARED_ATTRIBUTES, document
from ._params import PARAMETER_TEXTS, RegisteredName, check_loss, component

__all__ = ["NumpyNetClassifier"]

_SPLIT = SHARED_ATTRIBUTES.index("n_outputs_") + 1  # out_activation_ follows n_outputs_


class NumpyNetClassifier(ClassifierMixin, BaseNumpyNet):
    """Neural-network classifier: ``MLPClassifier``'s parameters, methods and attributes,
    plus convolutional, pooling, dropout and batch-norm layers.

    With the default ``layers=None`` it is the multi-layer perceptron of
    ``sklearn.neural_network.MLPClassifier`` (same parameters, defaults, Glorot
    initialisation, solvers, stopping rules and attributes). ``layers`` replaces the
    hidden part by any stack of registered layers; ``input_shape`` reshapes each row of
    a 2-D ``X`` so that convolutional networks train on ordinary tabular arrays.

    Parameters
    ----------
    <<parameters>>

    Attributes
    ----------
    <<attributes>>

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknn_scratch import NumpyNetClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = NumpyNetClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=30, random_state=0)
    >>> clf = clf.fit(X / 16, y)
    >>> clf.score(X / 16, y) > 0.95
    True
    >>> cnn = NumpyNetClassifier(
    ...     layers=[("conv2d", {"out_channels": 4, "kernel_size": 3}), "relu", ("maxpool2d", {"kernel_size": 2})],
    ...     input_shape=(1, 8, 8), max_iter=5, random_state=0,
    ... ).fit(X[:200] / 16, y[:200])
    >>> cnn.predict_proba(X[:2] / 16).shape
    (2, 10)
    """

    _parameter_constraints: dict = {
        **BaseNumpyNet._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "loss": [RegisteredName(CRITERIA, also=("log_loss",)), tuple, Criterion],
    }

    def __init__(
        self,
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
        class_weight=None,
        callbacks=None,
        loss="log_loss",
    ):
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
        self.class_weight = class_weight
        self.callbacks = callbacks
        self.loss = loss

    # -- targets ----------------------------------------------------------------------
    def _targets(self, y, dtype, incremental):
        """``(Y, y)``: the network's targets (binarised labels) and the labels as given."""
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not getattr(self, "warm_start", False) and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if getattr(self, "warm_start", False) and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the previous call to fit. "
                        f"Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        Y = self._label_binarizer.transform(y).astype(dtype)
        return Y, y

    def _validation_targets(self, y, dtype):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self._label_binarizer.y_type_ != "multilabel-indicator":
            unknown = np.setdiff1d(unique_labels(y), self.classes_)
            if len(unknown):
                raise ValueError(f"the validation set has classes {unknown} that are not in classes_ {self.classes_}")
        return self._label_binarizer.transform(y).astype(dtype), y

    def _make_criterion(self, settings):
        """The loss ``loss`` names: ``"log_loss"`` is the softmax cross-entropy for
        multiclass targets and the logistic one for binary and multilabel targets (its
        kwargs, e.g. ``label_smoothing``, go to either)."""
        spec = settings.loss
        if spec == "log_loss" or (isinstance(spec, tuple) and spec[0] == "log_loss"):
            binarizer = getattr(self, "_label_binarizer", None)
            multiclass = binarizer is None or binarizer.y_type_ == "multiclass"
            cls = SoftmaxCrossEntropyCriterion if multiclass else SigmoidBCECriterion
            kwargs = spec[1] if isinstance(spec, tuple) else {}
            try:
                return cls(**kwargs)
            except TypeError as exc:
                raise ValueError(f"loss={spec!r}: cannot build {cls.__name__} with {kwargs}: {exc}") from None
        return check_loss(component(spec, CRITERIA, "loss"), True, spec)

    def _class_weights(self, settings, y):
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            raise ValueError("class_weight is not supported for multilabel targets")
        if isinstance(settings.class_weight, dict):
            unknown = set(settings.class_weight) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(
                    f"class_weight has labels {sorted(unknown, key=str)} that are not in classes_ {self.classes_}"
                )
        return compute_sample_weight(settings.class_weight, y)

    def _stratify(self, Y, y):
        # binary: the binarised column, as MLP does (its error messages name True/False);
        # multiclass: the labels, so that the validation split holds every class, unless
        # a class has a single row (then no stratification, as MLP)
        if self.n_outputs_ == 1:
            return Y.astype(bool)
        if self._label_binarizer.y_type_ == "multiclass" and np.unique(y, return_counts=True)[1].min() >= 2:
            return y
        return None

    def _score_predictions(self, scores, y, sample_weight):
        pred = self._label_binarizer.inverse_transform(self._proba_from_scores(scores, ravel=False))
        # accuracy_score's result without its input checks (they cost more than a small
        # validation set's forward pass every epoch); multilabel rows count when all match
        correct = pred == np.asarray(y)
        if correct.ndim == 2:
            correct = correct.all(axis=1)
        return float(np.average(correct, weights=sample_weight))

    # -- fitting ------------------------------------------------------------------------
    @available_if(lambda est: est._check_solver())
    def partial_fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None, classes: ArrayLike | None = None
    ) -> Self:
        """Run one epoch over ``(X, y)``, continuing the training (one epoch of a new
        network on the first call).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Labels, or a label indicator matrix for multilabel problems.
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array-like of shape (n_classes,), default=None
            Every class of the problem: required on the first call, ignored after.

        Returns
        -------
        self
        """
        with training(self) as est:
            est._validate_params()  # before the classes check: a bad parameter is reported first
            if _check_partial_fit_first_call(est, classes):
                est._label_binarizer = LabelBinarizer()
                est._label_binarizer.fit(y if type_of_target(y).startswith("multilabel") else classes)
            est._fit(X, y, sample_weight, incremental=True)
        return self

    # -- prediction -----------------------------------------------------------------------
    def _proba_from_scores(self, scores, ravel=True):
        proba = self._criterion.activate(scores)
        if ravel and self.n_outputs_ == 1:
            proba = proba.ravel()
        return proba

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predict class labels (a label indicator matrix for multilabel problems).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        model = self._fitted_model()
        scores = model._validated_scores(X)
        if isinstance(model._criterion, SoftmaxCrossEntropyCriterion):
            # softmax keeps the order of each row's scores: the most probable class is the
            # highest score, so the probabilities are not needed
            return model._label_binarizer.classes_.take(scores.argmax(axis=1))
        return model._label_binarizer.inverse_transform(model._proba_from_scores(scores))

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Probability of each class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``; rows sum to 1 except for multilabel problems.
        """
        model = self._fitted_model()
        proba = model._proba_from_scores(model._validated_scores(X))
        if proba.ndim == 1:
            return np.vstack([1 - proba, proba]).T
        return proba

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """``log(predict_proba(X))``, as MLP computes it (so a probability of exactly 0 gives -inf).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        proba = self.predict_proba(X)
        return np.log(proba, out=proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags


document(
    NumpyNetClassifier,
    parameters={
        **PARAMETER_TEXTS,
        "early_stopping": """early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the rows (stratified, every class in it; or use
    the validation set given to ``fit``, ``X_val``/``y_val`` or ``validation_data``),
    stop when the validation accuracy has not improved by ``tol`` for
    ``n_iter_no_change`` epochs, and restore the best epoch's weights. With a callback
    that decides when training ends (e.g. ``EarlyStopping``) that callback stops
    training instead; the split and the restoring stay.""",
        "class_weight": """class_weight : dict, "balanced" or None, default=None
    Weights of the classes, multiplied into ``sample_weight``.""",
        "loss": """loss : str, (str, dict) or Criterion, default="log_loss"
    The loss, which also gives the output activation. ``"log_loss"`` is MLP's:
    softmax and the cross-entropy for multiclass targets, the logistic function and
    binary cross-entropy for binary and multilabel ones (one output column per label);
    ``("log_loss", {"label_smoothing": 0.1})`` smooths the targets. Any other
    registered criterion whose predictions are probabilities may be named (or given as
    a ``(name, kwargs)`` pair or an instance).""",
    },
    attributes={
        "classes_": """classes_ : ndarray of shape (n_classes,)
    The class labels.""",
        "out_activation_": """out_activation_ : str
    ``"softmax"`` (multiclass) or ``"logistic"`` (binary, multilabel).""",
    },
    attribute_order=["classes_", *SHARED_ATTRIBUTES[:_SPLIT], "out_activation_", *SHARED_ATTRIBUTES[_SPLIT:]],
)
