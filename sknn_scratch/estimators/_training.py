"""The training loop of the estimators, in one place.

- :class:`Objective` is the loss of a batch as scikit-learn's MLP defines it, and its
  gradient: forward pass, output head, backward pass, plus the L2 term.
- :func:`run_epoch` takes an optimizer step per mini-batch; :func:`fit_epochs` runs
  epochs and lets an :class:`EpochMonitor` decide after each one whether to go on.
- :func:`fit_lbfgs` hands the same objective, on all the data, to SciPy's L-BFGS-B.

The monitor holds what scikit-learn's MLP does between epochs: the curves, ``n_iter_``
and ``t_``, verbose output, the validation score and early stopping, the learning-rate
schedules, the user's callbacks and the ConvergenceWarning.
"""

from __future__ import annotations

import copy
import time
import warnings

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from ..callbacks import Callback, ProgressBar
from ..nn import Linear, MaxPool2d, ReLU, Sequential, Sigmoid, Tanh

__all__ = ["Objective", "run_epoch", "fit_epochs", "fit_lbfgs", "EpochMonitor"]

#: activations that never decrease, so that ``f(max(window)) == max(f(window))``
_MONOTONE = (ReLU, Sigmoid, Tanh)


def pooling_first(net):
    """``net``, or a Sequential of its very modules in which every monotone activation
    directly followed by a :class:`~sknn_scratch.nn.MaxPool2d` comes after it instead.

    Both orders compute the same function and the same gradients (the pooling picks
    the same element of each window, and where ReLU cuts the gradient it does so in
    either order); the activation then runs on the pooled values, a quarter as many
    for 2x2 windows. The network itself keeps the order it was built with.
    """
    modules = list(net.modules)
    for i in range(len(modules) - 1):
        if type(modules[i]) in _MONOTONE and type(modules[i + 1]) is MaxPool2d:
            modules[i], modules[i + 1] = modules[i + 1], modules[i]
    return net if modules == net.modules else Sequential(*modules)


class Objective:
    """The training loss of ``net`` on a batch and its gradient.

    ``loss = sum_i w_i l_i / sum_i w_i + alpha / 2 * ||W||**2 / sum_i w_i``, where
    ``l_i`` is the output head's loss of sample ``i`` and ``W`` every parameter named
    ``W`` (the weights of linear and convolutional layers): MLP's objective, with
    ``w_i = 1`` without sample weights.

    Creating it flattens the network's parameters (see
    :meth:`~sknn_scratch.nn.Module.flatten_parameters`); calling it leaves the
    gradient of the loss in :attr:`grads`. The passes run on :func:`pooling_first`
    of the network.
    """

    def __init__(self, net, head, alpha):
        self.net, self.head, self.alpha = pooling_first(net), head, float(alpha)
        self.params, self.grads = net.flatten_parameters()
        slots = [(m, p, g) for m in net.leaves() for p, g in zip(m._parameters, m._gradients, strict=True)]
        self._decayed = [(getattr(m, p), getattr(m, g)) for m, p, g in slots if p == "W"]
        self._not_decayed = [getattr(m, g) for m, p, g in slots if p != "W"]
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
        decay = self.alpha / weight
        # the gradients start as the L2 term's (decay * W, zero elsewhere); the
        # backward pass adds the data term's
        squares = 0.0
        for W, gradW in self._decayed:
            np.multiply(W, decay, out=gradW)
            flat = W.ravel(order="K")
            squares += float(flat @ flat)
        for grad in self._not_decayed:
            grad.fill(0)
        if sp.issparse(X) and not self._takes_sparse:
            X = X.toarray()
        scores = self.net.forward(X)
        loss, grad = self.head.loss_and_grad(scores, Y, sample_weight)
        self.net.backward(X, grad, input_grad=False)
        return loss + 0.5 * decay * squares


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


def fit_epochs(objective, optimizer, X, Y, sample_weight, *, batch_size, max_iter, shuffle, random_state, monitor):
    """Run up to ``max_iter`` epochs (rows shuffled by ``random_state.shuffle`` each
    epoch when ``shuffle``, as MLP shuffles), calling ``monitor(loss)`` after each until
    it returns True (the caller runs ``monitor.end()``).

    Returns the number of the epoch whose loss was not finite, or None. Ctrl-C stops
    training with a warning and keeps the epochs done, as in MLP.
    """
    monitor.begin()
    try:
        for epoch in range(max_iter):
            monitor.epoch_begin()
            order = None
            if shuffle:
                order = np.arange(X.shape[0])
                random_state.shuffle(order)
            loss = run_epoch(objective, optimizer, X, Y, sample_weight, batch_size, order, monitor.batch_hook())
            if not np.isfinite(loss):
                return epoch + 1
            if monitor(loss):
                break
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.")
    return None


def fit_lbfgs(objective, X, Y, sample_weight, *, max_iter, max_fun, tol, verbose, monitor):
    """Minimise ``objective`` on all the data with SciPy's L-BFGS-B; the parameters
    end at the solution. ``monitor.lbfgs_iteration(iteration, loss)`` runs after every
    iteration (the callbacks' epoch hooks; True stops); the caller runs ``monitor.end()``
    once it has the result. Returns SciPy's result (``nit``, ``fun``, ``status``)."""
    params, grads = objective.params, objective.grads

    def fun(theta):
        params[...] = theta
        loss = objective(X, Y, sample_weight)
        return loss, grads.astype(np.float64)

    iteration = [0]

    def report(intermediate_result):
        iteration[0] += 1
        if verbose and not monitor.table:
            print(f"Iteration {iteration[0]}, loss = {intermediate_result.fun:.8f}")
        if monitor.lbfgs_iteration(iteration[0], float(intermediate_result.fun)):
            raise StopIteration  # SciPy ends the minimisation there

    monitor.begin()
    result = scipy.optimize.minimize(
        fun,
        params.astype(np.float64),
        method="L-BFGS-B",
        jac=True,
        callback=report,
        options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
    )
    if result.status != 0 and not monitor.stopped:
        warnings.warn(
            f"lbfgs failed to converge after {result.nit} iteration(s) (status={result.status}): "
            f"{result.message}\n\nIncrease the number of iterations (max_iter) or scale the data.",
            ConvergenceWarning,
        )
    params[...] = result.x
    return result


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


class EpochMonitor:
    """What happens around and between epochs of ``est``'s training, as in MLP, and the
    user's callbacks (see :mod:`sknn_scratch.callbacks`).

    Called with an epoch's loss, it updates ``n_iter_``, ``t_``, ``loss_``,
    ``loss_curve_`` (and, with early stopping, scores the validation set and keeps
    the best state), prints with ``verbose``, applies the learning-rate schedule,
    calls the callbacks' epoch hooks, and returns True to stop. ``begin``, ``end``,
    ``batch_hook`` and ``lbfgs_iteration`` run the other hooks.

    Parameters
    ----------
    est : BaseNumpyNet
        The estimator being trained (its fitted attributes are updated).
    objective : Objective
        Gives the parameter vector (saved and restored for early stopping).
    optimizer : Optimizer or None
        Its ``learning_rate`` follows the schedule and ``est.learning_rate_`` (None
        for L-BFGS).
    n_samples : int
        Training rows per epoch.
    validation : tuple or None
        ``(X_val, Y_val, y_val, sample_weight_val)`` with early stopping.
    incremental : bool
        ``partial_fit``: one epoch, no convergence warning.
    task : CallbackContext or None
        The fit task of scikit-learn's callbacks: every epoch is a subtask.
    data : tuple
        ``(X, y)`` of the training rows, for scikit-learn's callbacks.
    """

    def __init__(self, est, objective, optimizer, n_samples, validation, incremental, task=None, data=None):
        self.est, self.objective, self.optimizer = est, objective, optimizer
        self.n_samples, self.validation, self.incremental = n_samples, validation, incremental
        self.task, self.data, self._subtask = task, data, None
        self.callbacks = [c if isinstance(c, Callback) else _Function(c) for c in callback_list(est.callbacks)]
        if optimizer is None:  # L-BFGS: whole-data iterations, no batches
            for callback in self.callbacks:
                if type(callback).on_batch_end is not Callback.on_batch_end:
                    raise ValueError(
                        f"solver='lbfgs' has no mini-batches: the on_batch_end hook of {callback!r} cannot run; "
                        "use a stochastic solver or a callback without it"
                    )
        # verbose=True prints MLP's lines; verbose=2 (or more) a ProgressBar table instead
        self.table = not isinstance(est.verbose, bool) and est.verbose >= 2
        if self.table:
            self.callbacks.append(ProgressBar())
        self.stopped = False

    def _call(self, hook, logs):
        """Run ``hook`` of every callback; True when one of them asks to stop."""
        stop = False
        for callback in self.callbacks:
            if getattr(callback, hook)(self.est, logs) is True:
                stop = True
                if self.est.verbose:
                    print(f"Stopped by callback {callback!r}.")
        return stop

    def begin(self):
        est = self.est
        est.learning_rate_ = None if self.optimizer is None else self.optimizer.learning_rate
        self._clock = time.perf_counter()
        self._epoch = 0
        logs = {"solver": est.solver, "max_iter": est.max_iter, "n_samples": self.n_samples}
        self._call("on_fit_begin", {**logs, "incremental": self.incremental})
        self._sync_learning_rate()

    def _sync_learning_rate(self):
        """Give the optimizer the learning rate a hook set on the estimator."""
        if self.optimizer is not None:
            self.optimizer.learning_rate = self.est.learning_rate_

    def end(self):
        self._call("on_fit_end", {"n_iter": self.est.n_iter_, "loss": getattr(self.est, "loss_", None)})

    def batch_hook(self):
        """The function :func:`run_epoch` calls after every batch, or None when no
        callback has a batch hook."""
        if not any(type(c).on_batch_end is not Callback.on_batch_end for c in self.callbacks):
            return None

        def on_batch(batch, size, loss):
            logs = {"epoch": self._epoch + 1, "batch": batch, "size": size, "loss": loss}
            self._call("on_batch_end", logs)
            self._sync_learning_rate()

        return on_batch

    def _epoch_logs(self, loss):
        now = time.perf_counter()
        seconds, self._clock = now - self._clock, now
        self._epoch += 1
        est, validated = self.est, self.validation is not None
        return {
            "epoch": self._epoch,
            "iteration": self._epoch,
            "loss": loss,
            "validation_loss": est.validation_loss_curve_[-1] if validated else None,
            "validation_score": est.validation_scores_[-1] if validated else None,
            "learning_rate": est.learning_rate_,
            "seconds": seconds,
            "max_iter": est.max_iter,
        }

    def epoch_begin(self):
        """Begin the epoch's subtask of scikit-learn's callbacks."""
        if self.task is not None:
            X, y = self.data
            self._subtask = self.task.subcontext(task_name="epoch")
            self._subtask.call_on_fit_task_begin(estimator=self.est, X=X, y=y)

    def _epoch_end_sklearn(self):
        """End the epoch's subtask of scikit-learn's callbacks; True when one asks to
        stop. A callback that scores the model gets a copy of the network as it is now."""
        if self._subtask is None:
            return False
        X, y, est = *self.data, self.est
        stop = self._subtask.call_on_fit_task_end(
            estimator=est, X=X, y=y, reconstruction_attributes=lambda: {"_net": copy.deepcopy(est._net)}
        )
        self._subtask = None
        return bool(stop)

    def lbfgs_iteration(self, iteration, loss):
        """The callbacks' epoch hooks after an L-BFGS iteration; True to stop."""
        self.epoch_begin()
        stop = self._epoch_end_sklearn()
        self.stopped = self._call("on_epoch_end", self._epoch_logs(loss)) or stop
        return self.stopped

    def __call__(self, loss):
        est = self.est
        est._optimizer_state = {**self.optimizer.state_dict(), "solver": est.solver}  # for a checkpoint taken now
        est.loss_ = loss
        est.n_iter_ += 1
        est.t_ += self.n_samples
        est.loss_curve_.append(loss)
        if est.verbose and not self.table:
            print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")
        self._update_no_improvement_count()
        if est.learning_rate == "invscaling" and est.solver == "sgd":
            self.optimizer.learning_rate = est.learning_rate_init / (est.t_ + 1) ** est.power_t
        stop = False
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if est.early_stopping else "Training loss"
            msg = f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} consecutive epochs."
            stop = self._stop_or_slow_down(msg)
            if not stop:
                est._no_improvement_count = 0
        est.learning_rate_ = self.optimizer.learning_rate
        stop = self._epoch_end_sklearn() or stop
        stop = self._call("on_epoch_end", self._epoch_logs(loss)) or stop
        self._sync_learning_rate()
        self.stopped = stop
        if not (stop or self.incremental) and est.n_iter_ == est.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and the optimization "
                "hasn't converged yet.",
                ConvergenceWarning,
            )
        return stop or self.incremental

    def _update_no_improvement_count(self):
        est = self.est
        if self.validation is not None:
            X_val, Y_val, y_val, sw_val = self.validation
            scores = est._scores(X_val)
            est.validation_loss_curve_.append(float(est._head.forward(scores, Y_val, sw_val)))
            score = est._validation_score(scores, y_val, sw_val)
            est.validation_scores_.append(score)
            if est.verbose and not self.table:
                print(f"Validation score: {score:f}")
            improved = score >= est.best_validation_score_ + est.tol
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                if est.early_stopping:
                    est._best_state = self.objective.snapshot()
        if not est.early_stopping:  # MLP's rule on the training loss
            improved = est.loss_curve_[-1] <= est.best_loss_ - est.tol
            est.best_loss_ = min(est.best_loss_, est.loss_curve_[-1])
        est._no_improvement_count = 0 if improved else est._no_improvement_count + 1

    def _stop_or_slow_down(self, msg):
        """MLP's rule after ``n_iter_no_change`` epochs without improvement: stop, or
        with ``learning_rate="adaptive"`` divide the SGD learning rate by 5 until it
        falls below 1e-6."""
        est, optimizer = self.est, self.optimizer
        if est.solver != "sgd" or est.learning_rate != "adaptive":
            if est.verbose:
                print(msg + " Stopping.")
            return True
        if optimizer.learning_rate <= 1e-6:
            if est.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        optimizer.learning_rate /= 5.0
        if est.verbose:
            print(msg + f" Setting learning rate to {optimizer.learning_rate:f}")
        return False
