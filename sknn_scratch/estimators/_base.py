"""The training machinery shared by :class:`NumpyNetClassifier` and :class:`NumpyNetRegressor`.

The estimator owns a :class:`~sknn_scratch.nn.Sequential` that ends in a linear layer
producing raw scores, and a fused output head (a criterion on scores, see
:mod:`sknn_scratch.nn.criterion`) that turns scores into predictions and gradients.

At the start of every ``fit``/``partial_fit`` the parameters of all modules are packed
into one contiguous vector (and their gradients into another); the modules keep views
into it. The optimizers then update the whole network with a few vectorised
operations, L-BFGS sees the vector directly, and early stopping saves and restores the
best weights with one copy.
"""

from __future__ import annotations

import copy
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn import get_config
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, assert_all_finite, check_is_fitted, validate_data

from .._plain import from_plain, to_plain
from ..fpenv import flush_denormals
from ..nn import Linear, Sequential, as_generator
from ..optim import SGD, Adam
from ..optim.optimizers import aligned_zeros, memory_order, shaped_like_order
from ._builder import build_hidden, build_network, dense_hidden, resolve_input_shape

__all__ = ["BaseNumpyNet"]

_STOCHASTIC_SOLVERS = ("sgd", "adam")
#: rows per forward pass at prediction time (bounds the memory of activations)
_PREDICT_CHUNK = 16384


def _iter_modules(module):
    """Every leaf module of a (possibly nested) container, in order."""
    children = getattr(module, "modules", None)
    if isinstance(module, Sequential) or isinstance(children, list):
        for child in children:
            yield from _iter_modules(child)
    else:
        yield module


def _parameters(net):
    """Every parameter array of ``net``."""
    for module in _iter_modules(net):
        yield from module.getParameters()


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


def _training_copy(net):
    """A deep copy of ``net`` to train on, in place of the fitted network: parameters,
    buffers and random generators copied, nothing a pass left behind. The parameters
    and gradients are shared at first: :class:`_Packed` moves them into vectors of
    their own before anything writes to them."""
    memo = {}
    for module in _iter_modules(net):
        for name in module._parameters + module._gradients:
            value = getattr(module, name)
            memo[id(value)] = value
    return copy.deepcopy(net, memo).clearState()


class _Packed:
    """Flat parameter and gradient vectors whose slices are the modules' arrays.

    The weights penalised by ``alpha`` (every parameter named ``W``) come first, so the
    L2 term is one dot product and one in-place update on a contiguous block; for a
    dense network the layout is MLP's packing (all weights, then all intercepts).
    """

    def __init__(self, net, dtype, allocate=aligned_zeros):
        self._lay_out(net, np.dtype(dtype), allocate)

    @staticmethod
    def _slots(net):
        """``(module, parameter name, gradient name, order)`` of every parameter, weights
        first (in layer order), then the rest."""
        slots = []
        for module in _iter_modules(net):
            for pname, gname in zip(module._parameters, module._gradients, strict=True):
                slots.append((module, pname, gname, memory_order(getattr(module, pname))))
        slots.sort(key=lambda slot: slot[1] != "W")  # stable: weights first, in layer order
        return slots

    def _lay_out(self, net, dtype, allocate):
        slots = self._slots(net)
        sizes = [getattr(m, p).size for m, p, _, _ in slots]
        total = int(sum(sizes))
        self.params = allocate((total,), dtype)
        self.grads = allocate((total,), dtype)
        n_decay = int(sum(size for (_, pname, _, _), size in zip(slots, sizes, strict=True) if pname == "W"))
        self.decay_params, self.other_params = self.params[:n_decay], self.params[n_decay:]
        self.decay_grads, self.other_grads = self.grads[:n_decay], self.grads[n_decay:]
        offset = 0
        for (module, pname, gname, order), size in zip(slots, sizes, strict=True):
            value = getattr(module, pname)
            view = shaped_like_order(self.params[offset : offset + size], value.shape, order)
            view[...] = value
            setattr(module, pname, view)
            setattr(module, gname, shaped_like_order(self.grads[offset : offset + size], value.shape, order))
            offset += size

    def start_gradients(self, decay=0.0):
        """Set the gradients to those of the L2 term ``decay/2 * sum(W**2)`` (``decay *
        W`` for the weights, zero elsewhere), ready for the layers to add theirs; return
        that term. One pass instead of zeroing and adding the penalty afterwards."""
        if not decay:
            self.grads.fill(0)
            return 0.0
        np.multiply(self.decay_params, decay, out=self.decay_grads)
        self.other_grads.fill(0)
        return self.penalty(decay)

    def penalty(self, decay):
        """The L2 term ``decay/2 * sum(W**2)``."""
        weights = self.decay_params
        return 0.5 * decay * float(weights @ weights) if decay else 0.0

    def step(self, optimizer, decay):
        """One optimizer step on gradients that lack the L2 term: the optimizer adds
        ``decay * W`` to the weights' gradients as it updates them. Returns the L2 term
        ``decay/2 * sum(W**2)`` of the weights before the step."""
        return optimizer.step(
            [self.decay_params, self.other_params], [self.decay_grads, self.other_grads], weight_decay=(decay, 0.0)
        )


class BaseNumpyNet(BaseEstimator):
    """Shared implementation; use :class:`NumpyNetClassifier` or :class:`NumpyNetRegressor`."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
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
        "callbacks": [list, tuple, callable, None],
    }

    # -- hooks of the subclasses ----------------------------------------------------
    def _validate_input(self, X, y, incremental, reset, check_finite=True):  # pragma: no cover - abstract
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
        return [m for m in _iter_modules(self._net) if isinstance(m, Linear)]

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
        if self.solver not in _STOCHASTIC_SOLVERS:
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

    def _initialize(self, X, Y, rng):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self._head = self._make_head()
        self.out_activation_ = self._head.out_activation
        self._net = self._build(X, self.n_outputs_, rng)
        self.n_layers_ = len(self._linear_layers()) + 1
        self._optimizer = None
        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.validation_loss_curve_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.validation_loss_curve_ = None
                self.best_validation_score_ = None

    def _continue_on_copies(self):
        """Replace the fitted state that training changes in place (the network, the
        optimizer's state, the curves) by copies, so that the fitted model is never
        written: a pass that fails leaves it exactly as it was, and arrays loaded from
        a read-only memory map are never modified."""
        self._net = _training_copy(self._net)
        self._optimizer = copy.deepcopy(self._optimizer)
        for name in ("loss_curve_", "validation_scores_", "validation_loss_curve_"):
            if isinstance(getattr(self, name, None), list):
                setattr(self, name, list(getattr(self, name)))
        if getattr(self, "_best_params", None) is not None:
            self._best_params = self._best_params.copy()

    def _atomically(self, method, *args, **kwargs):
        """Run ``method``; if it raises, restore the estimator's attributes as they were.

        Training never writes the arrays of a fitted model (see
        :meth:`_continue_on_copies`), so restoring the attributes restores everything:
        weights, optimizer state, curves, and an unfitted estimator stays unfitted."""
        state = self.__dict__.copy()
        try:
            return method(*args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _fit(self, X, y, sample_weight=None, incremental=False):
        self._validate_params()
        self._validate_hidden_layer_sizes()
        first_pass = not hasattr(self, "_net") or (not self.warm_start and not incremental)
        # An error part-way leaves the estimator as it was (see _atomically), so the
        # NaN/inf check of a stochastic solver can run on each batch as it is gathered
        # (in cache, during the first epoch) instead of on all of X upfront.
        defer_check = first_pass and self.solver in _STOCHASTIC_SOLVERS and not get_config()["assume_finite"]
        X, Y, y_raw = self._validate_input(X, y, incremental, reset=first_pass, check_finite=not defer_check)
        if defer_check and sp.issparse(X):  # sparse input is checked on its stored values, cheaply
            self._assert_finite(X)
            defer_check = False
        if not first_pass:  # a fitted model trains in its own dtype, as it predicts
            dtype = self._net.dtype
            X, Y = X.astype(dtype, copy=False), Y.astype(dtype, copy=False)
        sample_weight = self._sample_weight(sample_weight, X, y_raw)
        rng = _training_rng(self.random_state)
        try:
            if first_pass:
                self._initialize(X, Y, rng)
            elif Y.shape[1] != self.n_outputs_:
                raise ValueError(f"y has {Y.shape[1]} outputs, but the network was trained with {self.n_outputs_}")
            else:
                self._continue_on_copies()
            diverged_at = self._train(X, Y, y_raw, sample_weight, rng, incremental, defer_check)
        finally:
            _consume(self.random_state, rng)
        if diverged_at is not None or not all(np.isfinite(p).all() for p in _parameters(self._net)):
            detail = f" (the training loss became non-finite at iteration {diverged_at})" if diverged_at else ""
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large values and "
                f"need to be preprocessed{detail}."
            )
        return self

    def _train(self, X, Y, y_raw, sample_weight, rng, incremental, check_finite):
        """Run the solver on the network's parameters packed into one vector; return
        the iteration at which the loss became non-finite, or None."""
        packed = _Packed(self._net, X.dtype)
        self._net.train()
        try:
            # flush-to-zero: weights decaying to zero otherwise pass through the slow
            # subnormal range (see sknn_scratch.fpenv)
            with flush_denormals():
                if self.solver in _STOCHASTIC_SOLVERS:
                    return self._fit_stochastic(X, Y, y_raw, sample_weight, rng, packed, incremental, check_finite)
                self._fit_lbfgs(X, Y, sample_weight, packed)
                return None
        finally:
            self._net.evaluate()
            self._net.clearState()
            self._head.clearState()

    def _validate_hidden_layer_sizes(self):
        """MLP's checks of ``hidden_layer_sizes``: integers (TypeError), all positive."""
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        for size in sizes:
            if isinstance(size, bool) or not isinstance(size, Integral):
                raise TypeError(f"hidden_layer_sizes must hold integers, got {size!r} in {self.hidden_layer_sizes!r}.")
        if any(size <= 0 for size in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")

    # -- one pass over the data --------------------------------------------------------
    def _densify(self, X):
        if sp.issparse(X) and not isinstance(self._net.modules[0], Linear):
            return X.toarray()
        return X

    def _decay(self, n_rows, sample_weight):
        """The L2 coefficient of a batch of ``n_rows``: ``alpha`` over its weight, as in MLP."""
        if not self.alpha:
            return 0.0
        return float(self.alpha) / (n_rows if sample_weight is None else float(sample_weight.sum()))

    def _loss_grad(self, X, Y, sample_weight, packed, decay, with_penalty=True):
        """Run forward/backward on a batch; return the batch loss ``sum(w * l) / sum(w)
        + decay/2 * ||W||^2`` (``decay`` from :meth:`_decay`).

        The gradients are *set* to those of the batch (no zeroing needed), including
        the L2 term's. With ``with_penalty=False`` the L2 term is left out of both, for
        :meth:`_Packed.step` to add its gradient and return its value."""
        if with_penalty:
            loss = packed.start_gradients(decay)
            accumulate = True
        else:
            loss = 0.0
            accumulate = False
        X = self._densify(X)
        scores = self._net.forward(X)
        data_loss, grad = self._head.loss_and_grad(scores, Y, sample_weight)
        self._net.backward(X, grad, input_grad=False, accumulate=accumulate)
        return loss + data_loss

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
        return int(np.clip(self.batch_size, 1, n_samples))

    def _run_epoch(self, X, Y, sample_weight, batch_size, rng, packed, check_finite=False):
        n = X.shape[0]
        order = rng.permutation(n) if self.shuffle else None
        # dense shuffled batches are gathered into two reused buffers: no copy of X and
        # no allocation per batch
        gather = order is not None and isinstance(X, np.ndarray)
        if gather:
            x_buffer = np.empty((min(batch_size, n), *X.shape[1:]), dtype=X.dtype)
            y_buffer = np.empty((min(batch_size, n), *Y.shape[1:]), dtype=Y.dtype)
        elif order is not None:  # sparse rows: one shuffled copy per epoch
            X, Y = X[order], Y[order]
            sample_weight = None if sample_weight is None else sample_weight[order]
            order = None
        total = 0.0
        optimizer = self._optimizer
        ones = np.ones(X.shape[1], dtype=X.dtype) if check_finite else None
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            rows = slice(start, stop) if order is None else order[start:stop]
            wb = None if sample_weight is None else sample_weight[rows]
            if wb is not None and not wb.any():
                if check_finite:
                    self._check_finite_rows(X[rows], ones)
                continue  # a batch of zero weight carries no gradient
            if gather:
                # rows come from a permutation, so mode="clip" changes nothing but
                # lets take write straight into out (with "raise" it goes through a
                # temporary buffer: twice the time)
                xb = np.take(X, rows, axis=0, out=x_buffer[: stop - start], mode="clip")
                yb = np.take(Y, rows, axis=0, out=y_buffer[: stop - start], mode="clip")
            else:
                xb, yb = X[rows], Y[rows]
            if check_finite:
                self._check_finite_rows(xb, ones)
            decay = self._decay(stop - start, wb)
            loss = self._loss_grad(xb, yb, wb, packed, decay, with_penalty=False)
            loss += packed.step(optimizer, decay)
            total += loss * (stop - start)
        return total / n

    def _check_finite_rows(self, X, ones):
        """scikit-learn's NaN/infinity error for a batch of rows, from the sum of the
        batch while it is in cache: ``X @ ones``, a BLAS product three times faster than
        ``X.sum()`` (a NaN or infinity anywhere makes it NaN or infinite)."""
        with np.errstate(over="ignore", invalid="ignore"):
            finite = np.isfinite((X @ ones).sum())
        if not finite:  # or a large finite X overflowed the sum: then nothing is raised
            self._assert_finite(X)

    def _assert_finite(self, X):
        """scikit-learn's error for NaN or infinity in ``X``, checked entry by entry."""
        assert_all_finite(X, input_name="X", estimator_name=type(self).__name__)

    # -- stochastic solvers ----------------------------------------------------------------
    def _make_optimizer(self):
        if self.solver == "sgd":
            return SGD(self.learning_rate_init, self.momentum, self.nesterovs_momentum)
        return Adam(self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)

    def _split_validation(self, X, Y, y_raw, sample_weight, rng):
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
        seed = int(rng.integers(np.iinfo(np.int32).max))
        idx_train, idx_val = train_test_split(np.arange(n), test_size=n_val, random_state=seed, stratify=stratify)
        pick = lambda a, i: None if a is None else a[i]
        return (
            (X[idx_train], Y[idx_train], pick(sample_weight, idx_train)),
            (X[idx_val], Y[idx_val], pick(y_raw, idx_val), pick(sample_weight, idx_val)),
        )

    def _stratify_target(self, Y, y_raw):
        return None

    def _fit_stochastic(self, X, Y, y_raw, sample_weight, rng, packed, incremental, check_finite=False):
        if not incremental or self._optimizer is None:
            self._optimizer = self._make_optimizer()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        if early_stopping:
            (X, Y, sample_weight), validation = self._split_validation(X, Y, y_raw, sample_weight, rng)
            if check_finite:  # validation rows are never in a batch
                self._assert_finite(validation[0])
            best_params = getattr(self, "_best_params", None)
            if best_params is None or best_params.shape != packed.params.shape:
                self._best_params = packed.params.copy()  # (a continuing fit has its own copy)
        n_samples = X.shape[0]
        batch_size = self._batch_size(n_samples)
        callbacks = self.callbacks
        if callbacks is not None and callable(callbacks):
            callbacks = [callbacks]

        self.n_iter_ = 0
        diverged_at = None
        try:
            for _ in range(self.max_iter):
                first_epoch = check_finite and self.n_iter_ == 0  # sees every training row
                self.loss_ = self._run_epoch(X, Y, sample_weight, batch_size, rng, packed, first_epoch)
                if not np.isfinite(self.loss_):
                    diverged_at = self.n_iter_ + 1
                    break  # _fit raises MLP's non-finite-weights error
                self.n_iter_ += 1
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
                self._update_no_improvement_count(early_stopping, validation if early_stopping else None, packed)
                if self.learning_rate == "invscaling" and self.solver == "sgd":
                    self._optimizer.learning_rate = self.learning_rate_init / (self.t_ + 1) ** self.power_t
                stop = False
                if self._no_improvement_count > self.n_iter_no_change:
                    what = "Validation score" if early_stopping else "Training loss"
                    msg = (
                        f"{what} did not improve more than tol={self.tol:f} for {self.n_iter_no_change} "
                        "consecutive epochs."
                    )
                    stop = self._trigger_stopping(msg)
                    if not stop:
                        self._no_improvement_count = 0
                if callbacks:
                    info = {
                        "iteration": self.n_iter_,
                        "loss": self.loss_,
                        "validation_score": self.validation_scores_[-1] if early_stopping else None,
                        "validation_loss": self.validation_loss_curve_[-1] if early_stopping else None,
                    }
                    for callback in callbacks:
                        if callback(self, info) is True:
                            stop = True
                            if self.verbose:
                                print(f"Stopped by callback {callback!r}.")
                if stop or incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the optimization "
                        "hasn't converged yet.",
                        ConvergenceWarning,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        if early_stopping:
            packed.params[...] = self._best_params
            if diverged_at is not None and np.isfinite(self._best_params).all():
                warnings.warn(
                    f"The training loss became non-finite at iteration {diverged_at}; the weights of the best "
                    "validation score were restored.",
                    ConvergenceWarning,
                )
                diverged_at = None
        return diverged_at

    def _trigger_stopping(self, msg):
        if self.solver != "sgd" or self.learning_rate != "adaptive":
            if self.verbose:
                print(msg + " Stopping.")
            return True
        if self._optimizer.learning_rate <= 1e-6:
            if self.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self._optimizer.learning_rate /= 5.0
        if self.verbose:
            print(msg + f" Setting learning rate to {self._optimizer.learning_rate:f}")
        return False

    def _update_no_improvement_count(self, early_stopping, validation, packed):
        if early_stopping:
            X_val, Y_val, y_val, sw_val = validation
            scores = self._scores(X_val)
            self.validation_loss_curve_.append(float(self._head.forward(scores, Y_val, sw_val)))
            score = self._validation_score(scores, y_val, sw_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_params[...] = packed.params
        else:
            last = self.loss_curve_[-1]
            if last > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if last < self.best_loss_:
                self.best_loss_ = last

    # -- L-BFGS ----------------------------------------------------------------------------
    def _fit_lbfgs(self, X, Y, sample_weight, packed):
        def fun(theta):
            packed.params[...] = theta
            loss = self._loss_grad(X, Y, sample_weight, packed, self._decay(X.shape[0], sample_weight))
            return loss, packed.grads.astype(np.float64)

        iteration = [0]

        def report(intermediate_result):
            iteration[0] += 1
            print(f"Iteration {iteration[0]}, loss = {intermediate_result.fun:.8f}")

        result = scipy.optimize.minimize(
            fun,
            packed.params.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            callback=report if self.verbose else None,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
        )
        if result.status != 0:
            warnings.warn(
                f"lbfgs failed to converge after {result.nit} iteration(s) (status={result.status}): "
                f"{result.message}\n\nIncrease the number of iterations (max_iter) or scale the data.",
                ConvergenceWarning,
            )
        self.n_iter_ = int(result.nit)
        self.loss_ = float(result.fun)
        packed.params[...] = result.x

    # -- prediction -------------------------------------------------------------------------
    def _validated_scores(self, X):
        """Validate ``X`` as prediction input and return the output layer's scores.

        Dense input to a first :class:`Linear` layer is checked for NaN and infinity on
        that layer's output rather than on ``X``: a non-finite entry makes every
        pre-activation of its row non-finite (``nan * w`` and ``inf * 0`` are NaN, and
        ``inf`` survives additions), so one sum over ``n_samples x units`` replaces one
        over ``n_samples x n_features``. Only when that sum is not finite is ``X``
        itself examined, for scikit-learn's error message (or, when the sum merely
        overflowed, to go on).
        """
        check_is_fitted(self)
        defer = isinstance(self._net.modules[0], Linear) and not sp.issparse(X) and not get_config()["assume_finite"]
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            dtype=(np.float64, np.float32),
            reset=False,
            ensure_all_finite=not defer,
        )
        if defer and sp.issparse(X):  # e.g. a sparse DataFrame
            self._assert_finite(X)
            defer = False
        return self._scores(X, check_finite=defer)

    def _scores(self, X, check_finite=False):
        """Raw scores of the output layer, in the network's dtype.

        The forward passes run on an inference copy of the network (see
        :meth:`~sknn_scratch.nn.Module.inference_copy`): the fitted network is only
        read, so prediction changes nothing and may run in many threads at once."""
        net = self._net.inference_copy()
        dtype = net.dtype
        parts = []
        for start in range(0, X.shape[0], _PREDICT_CHUNK):
            chunk = self._densify(X[start : start + _PREDICT_CHUNK]).astype(dtype, copy=False)
            if not check_finite:
                parts.append(net.forward(chunk))
                continue
            with np.errstate(invalid="ignore", over="ignore"):  # reported below, as scikit-learn does
                out = net.modules[0].forward(chunk)
                finite = np.isfinite(out.sum())
            if not finite:
                self._assert_finite(chunk)
            for module in net.modules[1:]:
                out = module.forward(out)
            parts.append(out)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    # -- persistence ---------------------------------------------------------------------------
    def __getstate__(self):
        """Parameters, optimizer state and settings as plain values (see
        :mod:`sknn_scratch._plain`): no engine class, no scratch array."""
        return to_plain(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(from_plain(state))
