"""The scikit-learn boundary shared by :class:`NumpyNetClassifier` and :class:`NumpyNetRegressor`.

The estimator validates its parameters and data, builds a
:class:`~sknn_scratch.nn.Sequential` that ends in a linear layer producing raw scores
and a fused output head (a criterion on scores, see :mod:`sknn_scratch.nn.criterion`),
runs the training loop of :mod:`._training` and keeps the fitted attributes.

Training never writes to a fitted model's arrays: a pass continues on copies that
replace the fitted state when it succeeds (see :meth:`BaseNumpyNet._atomically`).
Prediction reads the network through an inference copy (see
:meth:`~sknn_scratch.nn.Module.inference_copy`).
"""

from __future__ import annotations

import copy
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._plain import from_plain, to_plain
from ..callbacks import Callback
from ..fpenv import flush_denormals
from ..nn import Linear, as_generator
from ..registry import ACTIVATIONS, CRITERIA, OPTIMIZERS
from ._builder import build_hidden, build_network, dense_hidden, resolve_input_shape
from ._training import EpochMonitor, Objective, callback_list, fit_epochs, fit_lbfgs, pooling_first

try:  # scikit-learn's own callbacks (experimental, since 1.9)
    from sklearn.callback import CallbackSupportMixin, with_callbacks
except ImportError:  # pragma: no cover - older scikit-learn

    class CallbackSupportMixin:
        """Stands in for scikit-learn's mixin where scikit-learn has no callbacks."""

    def with_callbacks(method):
        return method


__all__ = ["BaseNumpyNet"]

#: at most this many rows per forward pass at prediction time
_PREDICT_CHUNK = 16384
#: rows of the first forward pass of a prediction, which measures the network's widest
#: activation per row
_PREDICT_FIRST = 64
#: the following passes take as many rows as keep the widest activation within this size
#: (a convolution's feature maps of a few hundred rows, still in the processor's caches)
_PREDICT_BYTES = 1 << 25


class RegisteredName(StrOptions):
    """A parameter constraint: the name of a component in ``registry`` (entry points
    included), or one of ``also``. scikit-learn's error then lists the known names."""

    def __init__(self, registry, also=()):
        super().__init__(set(also))
        self.registry, self.also = registry, tuple(also)

    def is_satisfied_by(self, val):
        # the registry's own spelling only (lowercase), as scikit-learn's options are exact
        return isinstance(val, str) and val == val.strip().lower() and (val in self.also or val in self.registry)

    def __str__(self):
        names = sorted({*self.registry.names(), *self.also})
        return f"a registered {self.registry.kind} name among {names}"


#: output activations of heads whose predictions are probabilities (classification)
PROBABILITY_ACTIVATIONS = ("softmax", "logistic")


def make_head(name, probabilities):
    """The output head registered as criterion ``name``: a loss on the network's raw
    scores, with ``activate`` (scores to predictions), ``out_activation`` (the name
    MLP's ``out_activation_`` reports) and ``loss_and_grad``. A classifier's head must
    give probabilities (``out_activation`` softmax or logistic), a regressor's not."""
    cls = CRITERIA.get(name)
    if not all(hasattr(cls, attr) for attr in ("activate", "out_activation", "loss_and_grad")):
        heads = [n for n in CRITERIA.names() if hasattr(CRITERIA.get(n), "activate")]
        raise ValueError(
            f"loss={name!r} is a criterion on predictions, not an output head on raw scores (one with activate(), "
            f"out_activation and loss_and_grad()); the registered heads are {heads}"
        )
    if (getattr(cls, "out_activation", None) in PROBABILITY_ACTIVATIONS) != probabilities:
        what = "a classifier needs a head giving probabilities" if probabilities else "a regressor needs a head"
        raise ValueError(
            f"loss={name!r} (output activation {cls.out_activation!r}): {what} "
            f"{'with' if probabilities else 'without'} out_activation in {PROBABILITY_ACTIVATIONS}"
        )
    return cls()


def _training_rng(random_state):
    """The Generator behind every random draw of a fit.

    An int seeds a Mersenne Twister exactly as ``np.random.RandomState(seed)`` does,
    so that the initial weights equal those of scikit-learn's MLP for the same
    ``random_state`` (same draws, same order, same bounds). A ``RandomState`` gives a
    Generator that continues from its state (:func:`_consume` hands the state back
    after the fit, so that the instance is consumed as MLP consumes it); a
    ``Generator`` is used as is; None draws fresh entropy. The global NumPy random
    state is never used.
    """
    if random_state is None or isinstance(random_state, np.random.Generator):
        return as_generator(random_state)
    if isinstance(random_state, (int, np.integer)):
        random_state = np.random.RandomState(random_state)
    if isinstance(random_state, np.random.RandomState):
        bit_generator = np.random.MT19937()
        bit_generator.state = {"bit_generator": "MT19937", "state": random_state.get_state(legacy=False)["state"]}
        return np.random.Generator(bit_generator)
    return as_generator(random_state)


def _consume(random_state, rng):
    """Advance a ``RandomState`` given as ``random_state`` past the draws of ``rng``
    (the Generator :func:`_training_rng` made from it)."""
    if isinstance(random_state, np.random.RandomState):
        random_state.set_state(rng.bit_generator.state)


class BaseNumpyNet(CallbackSupportMixin, BaseEstimator):
    """Shared implementation; use :class:`NumpyNetClassifier` or :class:`NumpyNetRegressor`."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [RegisteredName(ACTIVATIONS)],
        "solver": [RegisteredName(OPTIMIZERS, also=("lbfgs",))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state", np.random.Generator],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "layers": [list, tuple, None],
        "input_shape": [tuple, list, None],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "callbacks": [list, tuple, callable, Callback, None],
    }

    # -- hooks of the subclasses ----------------------------------------------------
    def _validate_input(self, X, y, incremental, reset):  # pragma: no cover - abstract
        raise NotImplementedError

    def _make_head(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _validation_score(self, scores, y_val, sample_weight):  # pragma: no cover - abstract
        raise NotImplementedError

    def _extra_sample_weight(self, y):
        return None

    # -- MLP-compatible views of the network -------------------------------------
    def _linear_layers(self):
        check_is_fitted(self, "_net")
        return [m for m in self._net.leaves() if isinstance(m, Linear)]

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

    @property
    def network_(self):
        """The trained :class:`~sknn_scratch.nn.Sequential` (ends with the linear output
        layer; the output activation is ``out_activation_``)."""
        check_is_fitted(self, "_net")
        return self._net

    # -- fitting ----------------------------------------------------------------------
    def _check_solver(self):
        if self.solver == "lbfgs":
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is not stochastic."
            )
        return True

    def _sample_weight(self, sample_weight, X, y_raw):
        extra = self._extra_sample_weight(y_raw)
        if sample_weight is None and extra is None:
            return None
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
            if not np.any(sample_weight > 0):
                raise ValueError("Sample weights must contain at least one non-zero number.")
        if extra is not None:
            sample_weight = extra if sample_weight is None else sample_weight * extra
        return np.asarray(sample_weight, dtype=X.dtype)

    def _build(self, X, n_outputs, rng):
        n_features = X.shape[1]
        dtype = X.dtype
        input_shape = resolve_input_shape(self.input_shape, n_features)
        sample_shape = input_shape if input_shape is not None else (n_features,)
        if self.layers is None:
            if input_shape is not None and len(input_shape) > 1:
                hidden, out_shape = build_hidden(["flatten"], sample_shape, rng, dtype)
                more, out_shape = dense_hidden(
                    self.hidden_layer_sizes, self.activation, out_shape[0], rng, dtype, self.dropout, self.batch_norm
                )
                hidden += more
            else:
                hidden, out_shape = dense_hidden(
                    self.hidden_layer_sizes, self.activation, n_features, rng, dtype, self.dropout, self.batch_norm
                )
                input_shape = None
        else:
            hidden, out_shape = build_hidden(self.layers, sample_shape, rng, dtype)
        init = "glorot_uniform_logistic" if self.layers is None and self.activation == "logistic" else "glorot_uniform"
        return build_network(hidden, out_shape, n_outputs, rng, dtype, input_shape, init=init)

    def _initialize(self, X, Y, rng, validating):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self._head = self._make_head()
        self.out_activation_ = self._head.out_activation
        self._net = self._build(X, self.n_outputs_, rng)
        self.n_layers_ = len(self._linear_layers()) + 1
        self._optimizer_state = None
        self._best_state = None
        self._architecture = self._architecture_key()
        for name in ("loss_curve_", "validation_scores_", "best_loss_"):
            self.__dict__.pop(name, None)
        if self.solver != "lbfgs":
            self._start_curves(validating)

    def _start_curves(self, validating, fresh=True):
        """MLP's curves and stopping state for the current solver, ``early_stopping``
        and validation data, where they are missing (a new fit, or a warm start after a
        change of these). A continuing fit without validation keeps earlier validation
        curves (they then cover the last epochs that had validation)."""
        if getattr(self, "loss_curve_", None) is None:
            self.loss_curve_ = []
            self._no_improvement_count = 0
        if not validating and fresh:
            self.validation_scores_ = self.validation_loss_curve_ = self.best_validation_score_ = None
        elif getattr(self, "validation_scores_", None) is None:
            self.validation_scores_, self.validation_loss_curve_ = [], []
            self.best_validation_score_ = -np.inf
        if self.early_stopping:
            self.best_loss_ = None
        elif getattr(self, "best_loss_", None) is None:
            self.best_loss_ = np.inf

    def _continue_on_copies(self, validating):
        """Replace the fitted state that training changes in place (the network and the
        curves) by copies, so that the fitted model is never written: a pass that fails
        leaves it exactly as it was, and arrays loaded from a read-only memory map are
        never modified. (The optimizer's state is copied into a new optimizer.)"""
        self._net = copy.deepcopy(self._net).clearState()
        for name in ("loss_curve_", "validation_scores_", "validation_loss_curve_"):
            if isinstance(getattr(self, name, None), list):
                setattr(self, name, list(getattr(self, name)))
        if self.solver != "lbfgs":
            self._start_curves(validating, fresh=False)

    def _atomically(self, name, *args, **kwargs):
        """Run the method ``name`` on a shadow of the estimator (a new object holding the
        same attributes) and, when it returns, give the shadow's attributes to the
        estimator in one assignment.

        Training never writes the arrays of a fitted model (see
        :meth:`_continue_on_copies`), so if anything raises the estimator is exactly as
        it was (an unfitted one stays unfitted), and while a fit runs other threads
        predict with the previous model."""
        shadow = object.__new__(type(self))
        shadow.__dict__.update(self.__dict__)
        getattr(shadow, name)(*args, **kwargs)
        self.__dict__ = shadow.__dict__
        return self

    @with_callbacks  # scikit-learn's callbacks are set up on the estimator being trained and torn down after
    def _fit(self, X, y, sample_weight=None, incremental=False, validation_data=None):
        self._check_parameters()
        first_pass = not hasattr(self, "_net") or (not self.warm_start and not incremental)
        if validation_data is not None and self.solver == "lbfgs":
            raise ValueError(
                "validation_data needs a solver that trains by epochs; solver='lbfgs' scores no validation set"
            )
        X, Y, y_raw = self._validate_input(X, y, incremental, reset=first_pass)
        if not first_pass:  # a fitted model trains in its own dtype, as it predicts
            dtype = self._net.dtype
            X, Y = X.astype(dtype, copy=False), Y.astype(dtype, copy=False)
        sample_weight = self._sample_weight(sample_weight, X, y_raw)
        validating = validation_data is not None or self.early_stopping
        if self.early_stopping and validation_data is None and not incremental and self.validation_fraction == 0:
            raise ValueError("validation_fraction=0.0 leaves no validation data for early_stopping=True")
        rng = _training_rng(self.random_state)
        try:
            if first_pass:
                self._initialize(X, Y, rng, validating)
            elif Y.shape[1] != self.n_outputs_:
                raise ValueError(f"y has {Y.shape[1]} outputs, but the network was trained with {self.n_outputs_}")
            else:
                self._check_same_architecture()
                self._continue_on_copies(validating)
            if validation_data is not None:
                validation_data = self._validation_set(validation_data, X.dtype)
            task = self._sklearn_callback_task(X, y_raw, sample_weight, incremental)
            self._net.train()
            try:
                # flush-to-zero: weights decaying to zero otherwise pass through the slow
                # subnormal range (see sknn_scratch.fpenv)
                with flush_denormals():
                    diverged_at = self._train(X, Y, y_raw, sample_weight, rng, incremental, validation_data, task)
            finally:
                self._net.evaluate()
                self._net.clearState()
                self._head.clearState()
        finally:
            _consume(self.random_state, rng)
        if diverged_at is not None or not all(np.isfinite(a).all() for a in self._state_arrays()):
            detail = f" (the training loss became non-finite at iteration {diverged_at})" if diverged_at else ""
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large values and "
                f"need to be preprocessed{detail}."
            )
        if task is not None:
            task.call_on_fit_task_end(estimator=self, X=X, y=y_raw, reconstruction_attributes={})
        return self

    def _sklearn_callback_task(self, X, y, sample_weight, incremental):
        """The root task of scikit-learn's callbacks (``set_callbacks``), begun, or None
        without them. Its subtasks are the epochs (L-BFGS: iterations)."""
        if not getattr(self, "_skl_callbacks", None):
            return None
        n_tasks = 1 if incremental else self.max_iter
        task = self._init_callback_context(task_name="partial_fit" if incremental else "fit", max_subtasks=n_tasks)
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        return task.call_on_fit_task_begin(estimator=self, X=X, y=y, metadata=metadata)

    def _state_arrays(self):
        """Every parameter and buffer (e.g. batch-norm statistics) of the network."""
        return [
            a
            for m in self._net.leaves()
            for a in [*m.getParameters(), *(getattr(m, name, None) for name in m._buffers)]
            if a is not None
        ]

    def _train(self, X, Y, y_raw, sample_weight, rng, incremental, validation=None, task=None):
        """Run the solver; return the epoch at which the loss became non-finite, or None."""
        objective = Objective(self._net, self._head, self.alpha)
        if self.solver == "lbfgs":
            monitor = EpochMonitor(self, objective, None, X.shape[0], None, incremental, task, (X, y_raw))
            result = fit_lbfgs(
                objective,
                X,
                Y,
                sample_weight,
                max_iter=self.max_iter,
                max_fun=self.max_fun,
                tol=self.tol,
                verbose=self.verbose,
                monitor=monitor,
            )
            self.n_iter_, self.loss_ = int(result.nit), float(result.fun)
            monitor.end()
            return None
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        optimizer = self._make_optimizer(objective)
        state = self._optimizer_state
        if incremental and state is not None and state.get("solver") == self.solver:  # not after a change of solver
            optimizer.load_state_dict(state)
        # draws in MLP's order with MLP's algorithms (a RandomState on the same bits)
        legacy = np.random.RandomState(rng.bit_generator)
        if self.early_stopping and validation is None:
            (X, Y, sample_weight), validation = self._split_validation(X, Y, y_raw, sample_weight, legacy)
        self.n_iter_ = 0
        monitor = EpochMonitor(self, objective, optimizer, X.shape[0], validation, incremental, task, (X, y_raw))
        diverged_at = fit_epochs(
            objective,
            optimizer,
            X,
            Y,
            sample_weight,
            batch_size=self._batch_size(X.shape[0]),
            max_iter=self.max_iter,
            shuffle=self.shuffle,
            random_state=legacy,
            monitor=monitor,
        )
        self._optimizer_state = {**optimizer.state_dict(), "solver": self.solver}
        if self.early_stopping and getattr(self, "_best_state", None) is not None:  # this fit's or an earlier one's
            objective.restore(self._best_state)
            if diverged_at is not None:
                warnings.warn(
                    f"The training loss became non-finite at iteration {diverged_at}; the weights of the best "
                    "validation score were restored.",
                    ConvergenceWarning,
                )
                diverged_at = None
        if diverged_at is None:
            monitor.end()  # after MLP's restore: a callback restoring its own best epoch has the last word
        return diverged_at

    def _make_optimizer(self, objective):
        """The optimizer named by ``solver``, bound to the objective's parameters: MLP's
        settings for ``"sgd"`` and ``"adam"``, ``learning_rate_init`` for any other."""
        kwargs = {"learning_rate": self.learning_rate_init}
        if self.solver == "sgd":
            kwargs.update(momentum=self.momentum, nesterov=self.nesterovs_momentum)
        elif self.solver == "adam":
            kwargs.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        return OPTIMIZERS.get(self.solver)(objective.params, objective.grads, **kwargs)

    def _architecture_key(self):
        """The settings the network was built from (those in use)."""
        names = ("layers", "input_shape") if self.layers is not None else (
            "hidden_layer_sizes", "activation", "input_shape", "dropout", "batch_norm"
        )  # fmt: skip
        return repr([(name, getattr(self, name)) for name in (*names, "loss") if hasattr(self, name)])

    def _check_same_architecture(self):
        """A warm start or ``partial_fit`` trains the fitted network: settings that would
        build another network are an error, not silently ignored."""
        built = getattr(self, "_architecture", None)
        if built is not None and built != self._architecture_key():
            raise ValueError(
                f"warm_start and partial_fit continue training the fitted network, built from {built}; the "
                f"estimator's settings now say {self._architecture_key()}. Set them back, or fit anew "
                "(warm_start=False)."
            )

    def _check_parameters(self):
        """scikit-learn's parameter validation, then what its constraints cannot say:
        MLP's checks of ``hidden_layer_sizes`` (integers, else TypeError; all positive),
        and callbacks that are Callback objects or functions."""
        self._validate_params()
        callback_list(self.callbacks)
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        for size in sizes:
            if isinstance(size, bool) or not isinstance(size, Integral):
                raise TypeError(f"hidden_layer_sizes must hold integers, got {size!r} in {self.hidden_layer_sizes!r}.")
        if any(size <= 0 for size in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
        return int(np.clip(self.batch_size, 1, n_samples))

    def _validation_set(self, validation_data, dtype):
        """``(X_val, Y_val, y_val, sample_weight_val)`` from the user's ``validation_data``,
        validated as prediction input and targets are."""
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a pair (X_val, y_val) or a triple (X_val, y_val, sample_weight)")
        X_val, y_val, *weights = validation_data
        X_val = validate_data(self, X_val, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=False)
        X_val = X_val.astype(dtype, copy=False)
        Y_val, y_val = self._validation_targets(y_val, dtype)
        if Y_val.shape[0] != X_val.shape[0]:
            raise ValueError(f"validation_data has {X_val.shape[0]} rows of X but {Y_val.shape[0]} targets")
        sw = None if not weights or weights[0] is None else _check_sample_weight(weights[0], X_val, dtype=dtype)
        return X_val, Y_val, y_val, sw

    def _split_validation(self, X, Y, y_raw, sample_weight, random_state):
        """Train/validation split for early stopping (stratified for single-output
        classification), with a validation set of at least 2 samples."""
        from sklearn.model_selection import train_test_split

        n = X.shape[0]
        stratify = self._stratify_target(Y, y_raw)
        n_val = max(int(np.ceil(self.validation_fraction * n)), 2)
        if stratify is not None:
            n_val = max(n_val, len(np.unique(stratify)))
        if n - n_val < 1:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the size of your dataset "
                f"(n_samples = {n})."
            )
        idx_train, idx_val = train_test_split(
            np.arange(n), test_size=n_val, random_state=random_state, stratify=stratify
        )
        pick = lambda a, i: None if a is None else a[i]
        return (
            (X[idx_train], Y[idx_train], pick(sample_weight, idx_train)),
            (X[idx_val], Y[idx_val], pick(y_raw, idx_val), pick(sample_weight, idx_val)),
        )

    def _stratify_target(self, Y, y_raw):
        return None

    # -- summary ----------------------------------------------------------------------------
    def summary(self, n_features=None, n_outputs=None, *, file=None):
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
        import sys

        if hasattr(self, "_net"):
            net, n_in, title = self._net, self.n_features_in_, f"fitted, output activation {self.out_activation_}"
        else:
            if n_features is None and self.input_shape is not None and -1 not in tuple(self.input_shape):
                n_features = int(np.prod(self.input_shape))
            if n_features is None:
                raise ValueError("summary() before fit needs n_features (or an input_shape without -1)")
            self._check_parameters()
            X = np.zeros((1, int(n_features)))
            net = self._build(X, int(n_outputs or 1), _training_rng(0))
            n_in, title = int(n_features), "not fitted"
        out = np.zeros((2, n_in), dtype=net.dtype or np.float64)
        rows, total = [], 0
        for i, module in enumerate(net.inference_copy().modules):
            out = module.forward(out)
            count = sum(p.size for leaf in module.leaves() for p in leaf.getParameters())
            total += count
            rows.append((f"{i:<3}{module!r}", str(out.shape[1:]), f"{count:,}"))
        width = max(len(r[0]) for r in rows) + 2
        rule = "=" * (width + 30)
        lines = [f"{type(self).__name__} ({title})", rule, f"{'layer':<{width}}{'output shape':<18}{'parameters':>12}"]
        lines += [rule] + [f"{a:<{width}}{b:<18}{c:>12}" for a, b, c in rows]
        lines += [rule, f"total parameters: {total:,} (input: {n_in} features per row)"]
        table = "\n".join(lines)
        print(table, file=file or sys.stdout)
        return table

    # -- prediction -------------------------------------------------------------------------
    def _snapshot(self):
        """A view of the estimator fixed to its current fitted state: a fit replaces the
        estimator's attribute dict as a whole (see :meth:`_atomically`) and never
        changes it, so prediction through this view reads one whole model."""
        model = object.__new__(type(self))
        model.__dict__ = self.__dict__
        return model

    def _validated_scores(self, X):
        """Validate ``X`` as prediction input and return the output layer's scores."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=False)
        return self._scores(X)

    def _scores(self, X):
        """Raw scores of the output layer, in the network's dtype.

        The forward passes run on an inference copy of the network (see
        :meth:`~sknn_scratch.nn.Module.inference_copy`): the fitted network is only
        read, so prediction changes nothing and may run in many threads at once. As in
        training, activations run after the max-pooling that follows them (see
        :func:`._training.pooling_first`: the same function, on fewer values)."""
        net = pooling_first(self._net.inference_copy())
        dtype = net.dtype
        leaves = net.leaves()
        dense = not isinstance(leaves[0], Linear)  # only a linear layer takes sparse rows
        parts, start, rows = [], 0, _PREDICT_FIRST
        while start < X.shape[0]:
            chunk = X[start : start + rows]
            if dense and sp.issparse(chunk):
                chunk = chunk.toarray()
            parts.append(net.forward(chunk.astype(dtype, copy=False)))
            if start == 0 and chunk.shape[0] < X.shape[0]:  # rows per pass from the widest output (bytes per row)
                widest = max(np.asarray(getattr(m, "output", None)).nbytes for m in leaves) / chunk.shape[0]
                rows = int(np.clip(_PREDICT_BYTES // max(widest, 1), _PREDICT_FIRST, _PREDICT_CHUNK))
            start += chunk.shape[0]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    # -- persistence ---------------------------------------------------------------------------
    def __getstate__(self):
        """Parameters, optimizer state and settings as plain values (see
        :mod:`sknn_scratch._plain`): no engine class, no scratch array."""
        return to_plain(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(from_plain(state))
