"""How the estimators train, in one place.

- :class:`TrainingState` is the record of training: epochs, samples seen, curves, the
  best loss and score, the epochs without improvement and the best epoch's weights. The
  estimator keeps one; MLP's fitted attributes (``n_iter_``, ``loss_curve_``, ...) are
  read from it.
- :class:`Objective` is the loss of a batch as scikit-learn's MLP defines it, and its
  gradient: forward pass, loss, backward pass, plus the L2 term.
- :func:`fit_stochastic` is the training loop of the stochastic solvers, read top to
  bottom: batches and optimizer steps, record, decide (MLP's stopping rule), notify the
  callbacks. :func:`fit_lbfgs` hands the same objective to SciPy's L-BFGS-B.
- :class:`Callbacks` dispatches the user's callbacks, the progress table of
  ``verbose=2`` and scikit-learn's callbacks, from one place.
"""

from __future__ import annotations

import copy
import dataclasses
import time
import warnings

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from ..callbacks import Callback, ProgressBar
from ..nn import Linear

__all__ = ["TrainingState", "Objective", "run_epoch", "fit_stochastic", "fit_lbfgs", "Callbacks", "callback_list"]


@dataclasses.dataclass
class TrainingState:
    """What lasts from one epoch to the next, and from one fit to the next.

    ``loss_curve`` is None after an L-BFGS fit, which keeps no curves (as MLP);
    ``validation_scores`` and ``validation_loss_curve`` are None until a fit has
    validation data; ``best_loss`` is None with early stopping; ``best_state`` holds the
    weights and buffers of the best validation epoch with early stopping.
    """

    n_iter: int = 0  # epochs (L-BFGS: iterations) of the last fit
    t: int = 0  # training samples seen by all fits of this network
    loss: float | None = None
    loss_curve: list | None = None
    learning_rates: list | None = None
    validation_scores: list | None = None
    validation_loss_curve: list | None = None
    best_loss: float | None = None
    best_validation_score: float | None = None
    no_improvement_count: int = 0
    best_state: tuple | None = None
    interrupted: bool = False  # the last fit ended by Ctrl-C

    def start(self, *, stochastic, validating, early_stopping):
        """Begin a fit: no epoch yet, and MLP's curves and stopping state for a fit with
        these settings where they are missing (a new network, or a warm start after a
        change of solver, validation or early stopping). Curves of earlier fits go on."""
        self.n_iter, self.interrupted = 0, False
        if not stochastic:
            return
        if self.loss_curve is None:
            self.loss_curve, self.learning_rates, self.no_improvement_count = [], [], 0
        if validating and self.validation_scores is None:
            self.validation_scores, self.validation_loss_curve, self.best_validation_score = [], [], -np.inf
        if early_stopping:
            self.best_loss = None
        elif self.best_loss is None:
            self.best_loss = np.inf

    def copy(self):
        """A copy whose curves can grow without changing this record's."""
        lists = {f.name: list(v) for f in dataclasses.fields(self) if isinstance(v := getattr(self, f.name), list)}
        return dataclasses.replace(self, **lists)


class Objective:
    """The training loss of ``net`` on a batch and its gradient.

    ``loss = sum_i w_i l_i / sum_i w_i + alpha / 2 * sum_j d_j theta_j**2 / sum_i w_i``,
    where ``l_i`` is the criterion's loss of sample ``i``, ``theta`` the parameter
    vector and ``d_j`` its weight-decay factors (1 for the weights of linear and
    convolutional layers, 0 for offsets: each layer declares them, see
    :meth:`~sknn_scratch.nn.Module.parameter_factors`): MLP's objective, with
    ``w_i = 1`` without sample weights.

    Creating it flattens the network's parameters into :attr:`params` (see
    :meth:`~sknn_scratch.nn.Module.flatten_parameters`); calling it leaves the gradient
    of the loss in :attr:`grads`.
    """

    def __init__(self, net, criterion, alpha):
        self.net, self.criterion, self.alpha = net, criterion, float(alpha)
        self.params, self.grads = net.flatten_parameters()
        self.lr_factors, self.decay = net.factor_vectors()
        self._takes_sparse = isinstance(net.leaves()[0], Linear)  # only a linear layer takes sparse rows

    def snapshot(self):
        """Copies of the parameters and of the modules' buffers (e.g. batch-norm
        statistics): the state :meth:`restore` puts back."""
        buffers = [[getattr(m, name, None) for name in m._buffers] for m in self.net.leaves()]
        return self.params.copy(), [[None if b is None else b.copy() for b in bs] for bs in buffers]

    def restore(self, state):
        """Put back a state from :meth:`snapshot`."""
        params, buffers = state
        self.params[...] = params
        for module, values in zip(self.net.leaves(), buffers, strict=True):
            for name, value in zip(module._buffers, values, strict=True):
                setattr(module, name, None if value is None else value.copy())

    def __call__(self, X, Y, sample_weight=None):
        """The loss of the batch ``(X, Y)``; its gradient is left in :attr:`grads`."""
        weight = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        # the gradients start as the L2 term's, alpha / weight * d * theta; backward adds the data's
        squares = 0.0
        if self.alpha:
            np.multiply(self.params, self.decay, out=self.grads)
            squares = float(self.params @ self.grads)
            self.grads *= self.alpha / weight
        else:
            self.grads.fill(0)
        if sp.issparse(X) and not self._takes_sparse:
            X = X.toarray()
        scores = self.net.forward(X)
        loss, grad = self.criterion.loss_and_grad(scores, Y, sample_weight)
        self.net.backward(X, grad, input_grad=False)
        return loss + 0.5 * self.alpha / weight * squares


def run_epoch(objective, optimizer, X, Y, sample_weight, batch_size, order=None, on_batch=None):
    """One pass over the data in mini-batches of ``batch_size`` rows taken in
    ``order`` (or as they are), with an optimizer step after each; returns the mean
    of the batches' losses weighted by their sizes (MLP's epoch loss). A batch whose
    sample weights are all zero carries no gradient and is skipped. ``on_batch(batch,
    size, loss)`` is called after each step."""
    n = X.shape[0]
    if order is not None and sp.issparse(X):  # sparse rows: one shuffled copy per epoch
        X, Y = X[order], Y[order]
        sample_weight = None if sample_weight is None else sample_weight[order]
        order = None
    if order is not None:  # the shuffled batches are gathered into two reused buffers
        x_buffer = np.empty((min(batch_size, n), *X.shape[1:]), dtype=X.dtype)
        y_buffer = np.empty((min(batch_size, n), *Y.shape[1:]), dtype=Y.dtype)
    total = 0.0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        rows = slice(start, stop) if order is None else order[start:stop]
        weights = None if sample_weight is None else sample_weight[rows]
        if weights is not None and not weights.any():
            continue
        if order is None:
            xb, yb = X[rows], Y[rows]
        else:  # rows of a permutation are in range: mode="clip" lets take write into out directly
            xb = np.take(X, rows, axis=0, out=x_buffer[: stop - start], mode="clip")
            yb = np.take(Y, rows, axis=0, out=y_buffer[: stop - start], mode="clip")
        loss = objective(xb, yb, weights)
        optimizer.step()
        total += loss * (stop - start)
        if on_batch is not None:
            on_batch(start // batch_size, stop - start, loss)
    return total / n


def fit_stochastic(est, settings, objective, optimizer, train, validation, callbacks, *, incremental, shuffler):
    """Train ``est``'s network by mini-batches, epoch after epoch, as scikit-learn's MLP
    does (``_fit_stochastic``): up to ``settings.max_iter`` epochs (one for
    ``partial_fit``), the rows shuffled by ``shuffler.shuffle`` when ``settings.shuffle``.

    After each epoch: record it in ``est._state``; score ``validation`` (``(X_val, Y_val,
    y_val, sample_weight_val)``) when given; decide by MLP's rule (no improvement by
    ``tol`` for ``n_iter_no_change`` epochs: the optimizer's schedule may lower the
    rate, else training stops, unless a callback that decides when training ends is
    given, see :attr:`Callbacks.stopping`); then the callbacks, which may stop it too.
    With early stopping the best epoch's weights are put back at the end. Ctrl-C stops
    training with a warning and keeps the epochs done, as in MLP. Only reaching
    ``max_iter`` without a stop is a ``ConvergenceWarning``.

    Returns the number of the epoch whose loss was not finite, or None.
    """
    X, Y, sample_weight = train
    state, n = est._state, X.shape[0]
    # MLP's batch size: "auto" is min(200, n_samples); a larger one is clipped
    batch_size = min(200, n) if settings.batch_size == "auto" else int(np.clip(settings.batch_size, 1, n))
    if settings.batch_size != "auto" and settings.batch_size > n:
        warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
    optimizer.total_steps = settings.max_iter * -(-n // batch_size)  # the steps a schedule spans
    # a plugin optimizer need not react to epochs and plateaus: it keeps its rate, and stops on a plateau
    end_epoch = getattr(optimizer, "end_epoch", None)
    plateau = getattr(optimizer, "plateau", lambda: (True, "Stopping."))
    diverged_at = None
    try:
        if callbacks.active:
            logs = {"solver": settings.solver, "max_iter": settings.max_iter, "n_samples": n}
            callbacks.notify("on_fit_begin", {**logs, "incremental": incremental, "validation": validation is not None})
        for _ in range(settings.max_iter):
            clock = time.perf_counter()
            if callbacks.active:
                callbacks.epoch_begin()
            # batches and steps
            order = None
            if settings.shuffle:
                order = np.arange(n)
                shuffler.shuffle(order)
            loss = run_epoch(objective, optimizer, X, Y, sample_weight, batch_size, order, callbacks.batch_hook)
            learning_rate = optimizer.learning_rate  # of the epoch's last step
            if not np.isfinite(loss):
                diverged_at = state.n_iter + 1
                break
            # record
            state.n_iter += 1
            state.t += n
            state.loss = loss
            state.loss_curve.append(loss)
            state.learning_rates.append(learning_rate)
            if settings.verbose:
                print(f"Iteration {state.n_iter}, loss = {loss:.8f}")
            if validation is not None:
                _record_validation(est, settings, objective, validation)
            # decide: MLP's rule, then the schedule after the epoch
            if not settings.early_stopping:
                improved = loss <= state.best_loss - settings.tol
                state.best_loss = min(state.best_loss, loss)
                state.no_improvement_count = 0 if improved else state.no_improvement_count + 1
            if end_epoch is not None:
                end_epoch(state.t)
            stop = False
            if state.no_improvement_count > settings.n_iter_no_change:
                what = "Validation score" if settings.early_stopping else "Training loss"
                stop, note = plateau()
                if stop and callbacks.stopping:  # a callback decides when training ends, not this rule
                    names = " and ".join(callbacks.stopping)
                    verb = "decides" if len(callbacks.stopping) == 1 else "decide"
                    stop, note = False, f"Training goes on: {names} {verb} when to stop."
                if settings.verbose:
                    print(
                        f"{what} did not improve more than tol={settings.tol:f} for {settings.n_iter_no_change} "
                        f"consecutive epochs. {note}"
                    )
                if not stop:
                    state.no_improvement_count = 0
            # notify
            if callbacks.active:
                logs = {
                    "epoch": state.n_iter,
                    "iteration": state.n_iter,
                    "loss": loss,
                    "validation_loss": state.validation_loss_curve[-1] if validation is not None else None,
                    "validation_score": state.validation_scores[-1] if validation is not None else None,
                    "learning_rate": learning_rate,
                    "seconds": time.perf_counter() - clock,
                    "max_iter": settings.max_iter,
                }
                stop = callbacks.epoch_end(logs) or stop
            if stop or incremental:
                break
        else:
            if not settings.fixed_epochs:  # (a training planned as a number of epochs has nothing to converge)
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({settings.max_iter}) reached and the optimization "
                    "hasn't converged yet.",
                    ConvergenceWarning,
                )
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.")
        state.interrupted = True
    if settings.early_stopping and state.best_state is not None:  # this fit's best epoch, or an earlier fit's
        objective.restore(state.best_state)
        if diverged_at is not None:
            warnings.warn(
                f"The training loss became non-finite at iteration {diverged_at}; the weights of the best "
                "validation score were restored.",
                ConvergenceWarning,
            )
            diverged_at = None
    if diverged_at is None and callbacks.active:  # after MLP's restore: a restoring callback has the last word
        callbacks.end({"n_iter": state.n_iter, "loss": state.loss})
    return diverged_at


def _record_validation(est, settings, objective, validation):
    """Score the validation set; with early stopping, MLP's rule on the score."""
    state = est._state
    loss, score = est._evaluate(validation)
    state.validation_loss_curve.append(loss)
    state.validation_scores.append(score)
    if settings.verbose:
        print(f"Validation score: {score:f}")
    if settings.early_stopping:
        improved = score >= state.best_validation_score + settings.tol
        state.no_improvement_count = 0 if improved else state.no_improvement_count + 1
    if score > state.best_validation_score or (score == state.best_validation_score and settings.keep_last_best):
        state.best_validation_score = score
        if settings.early_stopping:
            state.best_state = objective.snapshot()


def fit_lbfgs(est, settings, objective, train, callbacks):
    """Minimise ``objective`` on all the data with SciPy's L-BFGS-B, as MLP does; the
    parameters end at the solution and ``est._state`` holds its iterations and loss.
    The callbacks' epoch hooks run after every iteration (True stops)."""
    X, Y, sample_weight = train
    params, grads, state = objective.params, objective.grads, est._state

    def fun(theta):
        params[...] = theta
        loss = objective(X, Y, sample_weight)
        return loss, grads.astype(np.float64)

    clock = [time.perf_counter()]

    def after_iteration(intermediate_result):
        seconds, clock[0] = time.perf_counter() - clock[0], time.perf_counter()
        state.n_iter += 1
        loss = float(intermediate_result.fun)
        if settings.verbose:
            print(f"Iteration {state.n_iter}, loss = {loss:.8f}")
        if callbacks.active:
            callbacks.epoch_begin()
            logs = dict.fromkeys(("validation_loss", "validation_score", "learning_rate"))
            logs.update(epoch=state.n_iter, iteration=state.n_iter, loss=loss, seconds=seconds)
            logs["max_iter"] = settings.max_iter
            if callbacks.epoch_end(logs):
                callbacks.stopped = True
                raise StopIteration  # SciPy ends the minimisation there

    callbacks.notify(
        "on_fit_begin",
        {"solver": "lbfgs", "max_iter": settings.max_iter, "n_samples": X.shape[0], "incremental": False,
         "validation": False},
    )  # fmt: skip
    result = scipy.optimize.minimize(
        fun,
        params.astype(np.float64),
        method="L-BFGS-B",
        jac=True,
        callback=after_iteration,
        options={"maxfun": settings.max_fun, "maxiter": settings.max_iter, "gtol": settings.tol},
    )
    if result.status != 0 and not callbacks.stopped:
        warnings.warn(
            f"lbfgs failed to converge after {result.nit} iteration(s) (status={result.status}): "
            f"{result.message}\n\nIncrease the number of iterations (max_iter) or scale the data.",
            ConvergenceWarning,
        )
    params[...] = result.x
    state.n_iter, state.loss = int(result.nit), float(result.fun)
    callbacks.end({"n_iter": state.n_iter, "loss": state.loss})


def callback_list(callbacks):
    """The ``callbacks`` parameter as a list, checked: Callback objects and functions."""
    callbacks = [callbacks] if callable(callbacks) or isinstance(callbacks, Callback) else list(callbacks or [])
    for callback in callbacks:
        if isinstance(callback, type) or not (isinstance(callback, Callback) or callable(callback)):
            raise TypeError(
                f"callbacks must be Callback objects (instances, e.g. History()) or functions called as "
                f"f(estimator, logs), got {callback!r}"
            )
    return callbacks


class _Function(Callback):
    """A plain function ``f(estimator, logs)`` given as a callback: its epoch hook."""

    def __init__(self, function):
        self.function = function

    def on_epoch_end(self, estimator, logs):
        return self.function(estimator, logs)


class Callbacks:
    """The callbacks of the fit of ``est``, dispatched from one place: the user's
    ``callbacks`` (:class:`~sknn_scratch.callbacks.Callback` objects and functions), a
    :class:`~sknn_scratch.callbacks.ProgressBar` for ``verbose >= 2``, and the fit task
    of scikit-learn's callbacks (``task``, whose subtasks are the epochs; ``data`` is
    ``(X, y)`` for them).

    A hook returning True asks training to stop. ``active`` is False when there is
    nothing to call around an epoch; ``batch_hook`` is the function the batch loop
    calls, or None when no callback has a batch hook. ``stopping`` lists the class names
    of the callbacks whose ``stops_training`` is True (e.g. ``["EarlyStopping"]``): when
    it is not empty, they decide when training ends and the estimator's own rule stops
    nothing.
    """

    def __init__(self, est, callbacks, *, verbose, lbfgs, task=None, data=None):
        self.items = [*(c if isinstance(c, Callback) else _Function(c) for c in callback_list(callbacks))]
        if lbfgs:  # L-BFGS: whole-data iterations, no batches
            for callback in self.items:
                if type(callback).on_batch_end is not Callback.on_batch_end:
                    raise ValueError(
                        f"solver='lbfgs' has no mini-batches: the on_batch_end hook of {callback!r} cannot run; "
                        "use a stochastic solver or a callback without it"
                    )
        if not isinstance(verbose, bool) and verbose >= 2:  # MLP's lines, and the table
            self.items.append(ProgressBar())
        self.est, self.verbose, self.task, self.data = est, verbose, task, data
        self.active = bool(self.items) or task is not None
        self.stopping = [type(c).__name__ for c in self.items if getattr(c, "stops_training", False)]
        self.stopped = False
        self._subtask = None
        batch_hooks = any(type(c).on_batch_end is not Callback.on_batch_end for c in self.items)
        self.batch_hook = self._on_batch if batch_hooks else None

    def notify(self, hook, logs):
        """Run ``hook`` of every callback; True when one of them asks to stop."""
        stop = False
        for callback in self.items:
            if getattr(callback, hook)(self.est, logs) is True:
                stop = True
                if self.verbose:
                    reason = getattr(callback, "stop_reason", None)
                    print(f"Stopped by callback {type(callback).__name__}: {reason}." if reason
                          else f"Stopped by callback {callback!r}.")  # fmt: skip
        return stop

    def _on_batch(self, batch, size, loss):
        logs = {"epoch": self.est._state.n_iter + 1, "batch": batch, "size": size, "loss": loss}
        self.notify("on_batch_end", logs)

    def epoch_begin(self):
        """Begin an epoch's subtask of scikit-learn's callbacks."""
        if self.task is not None:
            X, y = self.data
            self._subtask = self.task.subcontext(task_name="epoch")
            self._subtask.call_on_fit_task_begin(estimator=self.est, X=X, y=y)

    def epoch_end(self, logs):
        """End an epoch: scikit-learn's subtask (a scoring callback gets a copy of the
        network as it is now), then the epoch hooks. True to stop."""
        stop = False
        if self._subtask is not None:
            (X, y), est = self.data, self.est
            snapshot = lambda: {"network_": copy.deepcopy(est.network_)}  # noqa: E731
            stop = bool(self._subtask.call_on_fit_task_end(estimator=est, X=X, y=y, reconstruction_attributes=snapshot))
            self._subtask = None
        return self.notify("on_epoch_end", logs) or stop

    def end(self, logs):
        """The end of training: the ``on_fit_end`` hooks. Ctrl-C there keeps the trained
        model with MLP's warning, as Ctrl-C during the epochs does."""
        try:
            self.notify("on_fit_end", logs)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
            self.est._state.interrupted = True
