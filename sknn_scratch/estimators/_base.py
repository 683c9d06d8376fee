"""The scikit-learn boundary shared by :class:`NumpyNetClassifier` and :class:`NumpyNetRegressor`.

``fit`` reads the estimator's parameters once, validates the data, builds a
:class:`~sknn_scratch.nn.Sequential` ending in raw scores (or continues the fitted one),
and trains it with the loop of :mod:`._training`; the loss (a criterion of
:mod:`sknn_scratch.nn.losses`) turns scores into predictions.

Training is atomic: :func:`._atomic.training` trains a working copy of the estimator,
which becomes the estimator only when the fit succeeds, and training never writes the
arrays of a fitted model. Prediction reads the network through an inference copy (see
:meth:`~sknn_scratch.nn.Module.inference_copy`).
"""

from __future__ import annotations

import contextlib
import copy
from typing import Self

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from ..fpenv import flush_denormals
from ..nn import Linear
from ._atomic import training
from ._attributes import FittedAttributes
from ._builder import (
    build_network,
    channels_first_columns,
    check_not_one_sample,
    image_sample_shape,
    resolve_input_shape,
)
from ._data import (
    PIPELINE_ADVICE,
    as_model_dtype,
    check_known_targets,
    check_sample_weight,
    consume,
    training_rng,
    validation_arguments,
    validation_split,
)
from ._params import CONSTRAINTS, make_optimizer, read_settings, unknown_parameters
from ._training import Callbacks, Objective, TrainingState, fit_lbfgs, fit_stochastic

try:  # scikit-learn's own callbacks (experimental, since 1.9)
    from sklearn.callback import CallbackSupportMixin, with_callbacks
except ImportError:  # pragma: no cover - older scikit-learn

    class CallbackSupportMixin:  # type: ignore[no-redef]
        """Stands in for scikit-learn's mixin where scikit-learn has no callbacks."""

    def with_callbacks(method):  # type: ignore[no-redef]
        return method


__all__ = ["BaseNumpyNet", "training"]

#: at most this many rows per forward pass at prediction time
_PREDICT_CHUNK = 16384
#: rows of the first forward pass of a prediction, which measures the network's widest
#: activation per row
_PREDICT_FIRST = 128
#: the following passes take as many rows as keep the widest activation within this size
#: (2 MB: cached, and reused by the allocator, where arrays of tens of MB are fresh memory)
_PREDICT_BYTES = 1 << 21


class BaseNumpyNet(FittedAttributes, CallbackSupportMixin, BaseEstimator):
    """Shared implementation; use :class:`NumpyNetClassifier` or :class:`NumpyNetRegressor`."""

    _parameter_constraints: dict = dict(CONSTRAINTS)

    def __new__(cls, *args, **kwargs):
        # Python's "unexpected keyword argument" would not say which parameter was meant
        # (``epochs`` is ``max_iter`` here); __init__ then stores the arguments as usual
        unknown = [name for name in kwargs if name not in cls._get_param_names()]
        if unknown:
            raise TypeError(unknown_parameters(cls, unknown))
        return super().__new__(cls)

    # -- what the subclasses define ------------------------------------------------------
    def _targets(self, y, dtype, incremental):  # pragma: no cover - abstract
        """``(Y, y)``: the network's targets in ``dtype`` and the targets as given."""
        raise NotImplementedError

    def _make_criterion(self, settings):  # pragma: no cover - abstract
        raise NotImplementedError

    def _validation_targets(self, y, dtype):  # pragma: no cover - abstract
        raise NotImplementedError

    def _score_predictions(self, scores, y, sample_weight):  # pragma: no cover - abstract
        """The estimator's score (accuracy, R^2) of the raw ``scores`` against ``y``."""
        raise NotImplementedError

    # -- what the tabular estimators change -----------------------------------------------
    #: the settings of this fit, read once (see :func:`._params.read_settings`)
    _settings = read_settings
    #: validate_data's checks of the targets
    _y_checks: dict = {"multi_output": True}

    def _build(self, settings, X, rng):
        """A new network for the rows ``X``, ending in ``n_outputs_`` raw scores."""
        return build_network(settings, X.shape[1], self.n_outputs_, rng, X.dtype, self._sample_shape)

    def _adapt(self, settings, n_train):
        """Settings that depend on the number of training rows (none here)."""

    def _stratify(self, Y, y):
        return None

    # -- fitting ------------------------------------------------------------------------
    def _check_solver(self):
        """``partial_fit`` exists for the stochastic solvers only, as in MLP."""
        if self.solver == "lbfgs":
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is not stochastic."
            )
        return True

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        *,
        X_val: ArrayLike | None = None,
        y_val: ArrayLike | None = None,
        sample_weight_val: ArrayLike | None = None,
        validation_data: tuple | None = None,
    ) -> Self:
        """Fit the network to ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or (n_samples,) + sample_shape
            Rows, or an array of samples with several axes, such as images ``(n, H, W)``
            or ``(n, C, H, W)`` (``(n, H, W, C)`` with ``channels_last=True``), whose
            shape is ``input_shape`` (with or without a channel axis of one channel) or,
            without ``input_shape``, becomes it.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets: class labels (a label indicator matrix for multilabel problems) for
            the classifier, values for the regressor.
        sample_weight : array-like of shape (n_samples,), default=None
        X_val : {array-like, sparse matrix} of shape (n_val_samples, n_features), default=None
            A validation set (rows or samples shaped as ``X``'s), scored after every
            epoch (``validation_scores_``, ``validation_loss_curve_``, the callbacks'
            logs: a validation set is all that callbacks monitoring ``"validation_loss"``
            or ``"validation_score"`` need) and, with ``early_stopping=True``, used
            instead of a split of ``X``. The names of scikit-learn's
            HistGradientBoosting: in a ``Pipeline`` built with
            ``transform_input=["X_val"]`` (with metadata routing enabled and the
            network's ``set_fit_request(X_val=True, y_val=True)``), ``X_val`` goes
            through the earlier steps as ``X`` does.
        y_val : array-like of shape (n_val_samples,) or (n_val_samples, n_outputs), default=None
            The targets of ``X_val``.
        sample_weight_val : array-like of shape (n_val_samples,), default=None
            The weights of the validation rows.
        validation_data : tuple, default=None
            ``(X_val, y_val)`` or ``(X_val, y_val, sample_weight_val)``: the same as the
            three arguments above, in one (Keras's spelling). No ``Pipeline`` step
            transforms it: in a pipeline, use ``X_val`` with ``transform_input``.

        Returns
        -------
        self
        """
        given = (X_val, y_val, sample_weight_val, validation_data)
        validation = None if all(v is None for v in given) else validation_arguments(*given)
        with training(self) as est:
            est._fit(X, y, sample_weight, incremental=False, validation=validation)
        return self

    @with_callbacks  # scikit-learn's callbacks are set up on the estimator being trained and torn down after
    def _fit(self, X, y, sample_weight=None, *, incremental, validation=None):
        settings = self._settings()
        continuing = hasattr(self, "network_") and (incremental or settings.warm_start)
        stochastic = settings.solver != "lbfgs"
        if validation is not None and not stochastic:
            raise ValueError(
                "validation data needs a solver that trains by epochs; solver='lbfgs' scores no validation set"
            )
        if settings.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        given = (X, y)  # scikit-learn's callbacks score the rows as the user gave them
        X, y = self._validated_rows(X, y, reset=not continuing)
        Y, y = self._targets(y, X.dtype, incremental)
        if continuing:  # a fitted model trains in its own dtype, as it predicts
            X, Y = as_model_dtype(X, self.network_.dtype), Y.astype(self.network_.dtype, copy=False)
        class_weights = None if getattr(settings, "class_weight", None) is None else self._class_weights(settings, y)
        if sample_weight is not None or class_weights is not None:
            sample_weight = check_sample_weight(sample_weight, X, class_weights)
        if settings.early_stopping and validation is None and settings.validation_fraction == 0:
            raise ValueError(
                "validation_fraction=0.0 leaves no validation data for early_stopping=True: set validation_fraction "
                "> 0, or give a validation set to fit, as fit(X, y, X_val=X_val, y_val=y_val) or fit(X, y, "
                "validation_data=(X_val, y_val))"
            )
        rng = training_rng(settings.random_state)
        try:
            if continuing:
                self._continue(settings, Y, rng)
            else:  # a new network, and a new training record; a loss may ask for several outputs per target
                self._criterion = self._make_criterion(settings)
                self.n_outputs_ = Y.shape[1] * getattr(self._criterion, "outputs_per_target", 1)
                self.out_activation_ = self._criterion.out_activation
                self.network_ = self._build(settings, X, rng)
                self._architecture = settings.architecture
                self._state = TrainingState()
            if validation is not None:
                validation = self._validation_set(*validation, X.dtype)
            train = (X, Y, sample_weight)
            # draws in MLP's order with MLP's algorithms (a RandomState on the same bits)
            shuffler = np.random.RandomState(rng.bit_generator)
            if settings.early_stopping and validation is None:
                train, validation = self._split(settings, X, Y, y, sample_weight, shuffler)
            self._adapt(settings, train[0].shape[0])
            self._state.start(
                stochastic=stochastic, validating=validation is not None, early_stopping=settings.early_stopping
            )
            objective = Objective(self.network_, self._criterion, settings.alpha)
            previous = getattr(self, "optimizer_", None) if incremental else None
            self.optimizer_ = make_optimizer(settings, objective, previous) if stochastic else None
            task = None
            if getattr(self, "_skl_callbacks", None):  # scikit-learn's callbacks (set_callbacks)
                task = self._sklearn_callback_task(settings, *given, sample_weight, incremental)
            callbacks = Callbacks(self, settings.callbacks, verbose=settings.verbose, lbfgs=not stochastic, task=task,
                                  data=given)  # fmt: skip
            if not self.network_.training:  # a fitted network (a new one is in training mode)
                self.network_.train()
            try:
                # flush-to-zero: weights decaying to zero otherwise pass through the slow
                # subnormal range (see sknn_scratch.fpenv)
                with flush_denormals():
                    if stochastic:
                        diverged_at = fit_stochastic(
                            self,
                            settings,
                            objective,
                            self.optimizer_,
                            train,
                            validation,
                            callbacks,
                            incremental=incremental,
                            shuffler=shuffler,
                        )
                    else:
                        diverged_at = fit_lbfgs(self, settings, objective, train, callbacks)
            finally:
                self.network_.evaluate()
                self.network_.clearState()
                self._criterion.clearState()
        finally:
            if isinstance(settings.random_state, np.random.RandomState):
                consume(settings.random_state, rng)
        buffers = [getattr(m, name, None) for m in self.network_.leaves() for name in m._buffers]  # running statistics
        finite = np.isfinite(objective.params).all() and all(b is None or np.isfinite(b).all() for b in buffers)
        if diverged_at is not None or not finite:
            detail = f" (the training loss became non-finite at iteration {diverged_at})" if diverged_at else ""
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large values and "
                f"need to be preprocessed{detail}."
            )
        if task is not None:
            task.call_on_fit_task_end(estimator=self, X=given[0], y=given[1], reconstruction_attributes={})
        return self

    def _continue(self, settings, Y, rng):
        """Go on training the fitted network, on copies of it and of the record: the
        fitted model is never written (a pass that fails leaves it exactly as it was, and
        arrays loaded from a read-only memory map are never modified).

        With a ``Generator`` or ``RandomState`` as ``random_state``, the copy's Dropout
        layers draw from this fit's generator ``rng`` (the one given, or the one continuing
        the ``RandomState``), as a new network's do: a copy of the stream would give them
        the very numbers the shuffling draws from it."""
        n_targets = self.n_outputs_ // getattr(self._criterion, "outputs_per_target", 1)
        if Y.shape[1] != n_targets:
            raise ValueError(f"y has {Y.shape[1]} outputs, but the network was trained with {n_targets}")
        if self._architecture != settings.architecture:
            raise ValueError(
                f"warm_start and partial_fit continue training the fitted network, built from {self._architecture}; "
                f"the estimator's settings now say {settings.architecture}. Set them back, or fit anew "
                "(warm_start=False)."
            )
        memo = {}
        if isinstance(settings.random_state, (np.random.Generator, np.random.RandomState)):
            held = (getattr(m, "rng", None) for m in self.network_.leaves())
            memo = {id(generator): rng for generator in held if isinstance(generator, np.random.Generator)}
        self.network_ = copy.deepcopy(self.network_, memo).clearState()
        self._state = self._state.copy()

    def _split(self, settings, X, Y, y, sample_weight, shuffler):
        """MLP's early-stopping split: ``(train, validation)``."""
        train, held = validation_split(
            X.shape[0], settings.validation_fraction, self._stratify(Y, y), shuffler, sample_weight
        )
        pick = lambda a, rows: None if a is None else a[rows]  # noqa: E731
        return (X[train], Y[train], pick(sample_weight, train)), (X[held], Y[held], y[held], pick(sample_weight, held))

    def _validation_set(self, X_val, y_val, sample_weight_val, dtype):
        """``(X_val, Y_val, y_val, sample_weight_val)``, validated as prediction input and
        targets are. Rows that do not fit the network are an error that says how a
        ``Pipeline`` passes a validation set through its steps."""
        if hasattr(X_val, "columns") and not hasattr(self, "feature_names_in_"):
            # a table where X was an array: most likely a pipeline's raw rows, which scikit-learn would
            # warn about (feature names) before failing or, with numeric columns, scoring untransformed rows
            raise ValueError(
                f"The validation set's X is a table with column names, but X was an array. {PIPELINE_ADVICE} "
                "Outside a pipeline, give X_val in the form of X (e.g. X_val.to_numpy())."
            )
        try:
            X_val = self._validated_rows(X_val, reset=False)
        except ValueError as exc:
            problem = str(exc).rstrip(".")
            raise ValueError(f"The validation set's X does not fit the network: {problem}. {PIPELINE_ADVICE}") from exc
        X_val = as_model_dtype(X_val, dtype)
        check_known_targets(y_val, "y_val")
        Y_val, y_val = self._validation_targets(y_val, dtype)
        if Y_val.shape[0] != X_val.shape[0]:
            raise ValueError(f"the validation set has {X_val.shape[0]} rows of X but {Y_val.shape[0]} targets")
        sw = check_sample_weight(sample_weight_val, X_val, what="sample_weight_val")
        return X_val, Y_val, y_val, sw

    def _sklearn_callback_task(self, settings, X, y, sample_weight, incremental):
        """The root task of scikit-learn's callbacks (``set_callbacks``), begun. Its
        subtasks are the epochs (L-BFGS: iterations)."""
        n_tasks = 1 if incremental else settings.max_iter
        task = self._init_callback_context(task_name="partial_fit" if incremental else "fit", max_subtasks=n_tasks)
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        return task.call_on_fit_task_begin(estimator=self, X=X, y=y, metadata=metadata)

    def _evaluate(self, validation):
        """``(loss, score)`` of the network as it is now on a validation set.

        The passes run on the network being trained, in evaluation mode: it is the
        training copy's own (see :func:`._atomic.training`), which no prediction reads."""
        X_val, Y_val, y_val, sw_val = validation
        self.network_.evaluate()
        try:
            scores = self._scores(X_val, trained=self.network_)
        finally:
            self.network_.train()
        return float(self._criterion.forward(scores, Y_val, sw_val)), self._score_predictions(scores, y_val, sw_val)

    # -- prediction ---------------------------------------------------------------------
    def _fitted_model(self):
        """This estimator as fitted now: an object sharing the current attribute dict,
        which a fit replaces as a whole but never changes (see :func:`training`), so
        that a prediction reads one whole model whatever other threads fit meanwhile."""
        model = object.__new__(type(self))
        model.__dict__ = self.__dict__
        return model

    def _validated_scores(self, X):
        """Validate ``X`` as prediction input and return the network's raw scores."""
        check_is_fitted(self, "network_")
        return self._scores(self._validated_rows(X, reset=False))

    # -- rows in -----------------------------------------------------------------------
    def _validated_rows(self, X, y="no_validation", *, reset):
        """``X`` (and ``y``, unless it is ``"no_validation"``) validated as scikit-learn's
        ``validate_data`` does, with ``X``'s samples as flat rows in the network's order.

        ``X`` holds rows, or samples with several axes (images ``(n, H, W)``,
        ``(n, C, H, W)``, ...) that become rows in the order of their values (see
        :func:`._builder.image_sample_shape` for the shapes taken). A new fit (``reset``)
        settles the shape of a sample, from the samples or ``input_shape``, and whether
        its channels come last; the network takes them first, so rows of samples with
        their channels last have their values reordered."""
        no_y = isinstance(y, str) and y == "no_validation"
        shape = None  # of the samples of an array with more than two axes
        if isinstance(X, (list, tuple)) or (not sp.issparse(X) and getattr(X, "ndim", 2) > 2):
            with contextlib.suppress(ValueError):  # a ragged list: scikit-learn's validation reports it
                axes = np.shape(X)
                shape = tuple(int(d) for d in axes[1:]) if len(axes) > 2 else None
        if not reset and getattr(self, "_sample_shape", None) is not None and not sp.issparse(X):
            check_not_one_sample(X, self._sample_shape, self._channels_last, self.n_features_in_)
        if shape is not None:
            given = image_sample_shape(self, shape, reset)
            X = np.asarray(X).reshape(len(X), int(np.prod(shape)))  # not -1: no samples, no size to infer
        checks = {} if no_y else self._y_checks
        out = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=reset, **checks
        )
        X, y = (out, None) if no_y else out
        if reset:
            if shape is None:
                given = None if self.input_shape is None else resolve_input_shape(self.input_shape, X.shape[1])
            self._sample_shape = given
            self._channels_last = bool(self.channels_last) and given is not None and len(given) > 1
        if getattr(self, "_channels_last", False) and self._sample_shape[-1] > 1:
            X = X[:, channels_first_columns(self._sample_shape)]
        return X if no_y else (X, y)

    def _scores(self, X, dtype=None, *, trained=None):
        """Raw scores of the network, in its dtype (or in ``dtype``: the passes run on
        parameters converted to it).

        The forward passes run on an inference copy of the network (see
        :meth:`~sknn_scratch.nn.Module.inference_copy`): the fitted network is only
        read, so prediction changes nothing and may run in many threads at once. During
        a fit, ``trained`` is the network in training, which the passes may use as it is."""
        net = self.network_.inference_copy() if trained is None else trained
        if dtype is not None and net.dtype != dtype:
            net.astype(dtype)  # the copy's parameters are replaced, the fitted ones stay
        dtype, leaves = net.dtype, net.leaves()
        dense = not isinstance(leaves[0], Linear)  # only a linear layer takes sparse rows
        X = as_model_dtype(X, dtype)
        parts, start, rows = [], 0, _PREDICT_FIRST
        while start < X.shape[0]:
            chunk = X[start : start + rows]
            if dense and sp.issparse(chunk):
                chunk = chunk.toarray()
            parts.append(net.forward(chunk))
            if start == 0 and chunk.shape[0] < X.shape[0]:  # rows per pass from the widest output (bytes per row)
                widest = max(np.asarray(getattr(m, "output", None)).nbytes for m in leaves) / chunk.shape[0]
                rows = int(np.clip(_PREDICT_BYTES // max(widest, 1), _PREDICT_FIRST, _PREDICT_CHUNK))
            start += chunk.shape[0]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    # -- summary --------------------------------------------------------------------------
    def summary(self, n_features: int | None = None, n_outputs: int | None = None, *, file=None) -> str:
        """Print a table of the network's layers, in order, with the shape of one sample's
        output and the number of parameters of each, and the totals (Keras's
        ``model.summary()``).

        A fitted estimator shows its network. Before ``fit`` the network its parameters
        would build is shown, for rows of ``n_features`` (implied by ``input_shape``
        when that has no -1) and ``n_outputs`` outputs (default 1).

        Parameters
        ----------
        n_features, n_outputs : int, default=None
            Used before ``fit`` only.
        file : file-like, default=None
            Where to print; None is ``sys.stdout``.

        Returns
        -------
        table : str
        """
        from ._summary import summary_table

        return summary_table(self, n_features, n_outputs, file)
