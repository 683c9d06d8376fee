"""Callbacks: code that runs at the start and end of a fit, after every epoch and after every batch.

Give the estimators a list of them, ``NumpyNetClassifier(callbacks=[ProgressBar(), EarlyStopping()])``.
A callback subclasses :class:`Callback` and overrides the hooks it needs; each hook receives
the estimator being trained and a dict ``logs``:

===============  =============================================================================
hook             ``logs``
===============  =============================================================================
on_fit_begin     ``solver``, ``max_iter``, ``n_samples``, ``incremental``, ``validation`` (whether
                 the epochs are scored on a validation set)
on_epoch_end     ``epoch`` (1-based, also as ``iteration``), ``loss``, ``validation_loss`` and
                 ``validation_score`` (None without validation data), ``learning_rate``,
                 ``seconds`` (of this epoch), ``max_iter``; returning True stops training
on_batch_end     ``epoch``, ``batch`` (0-based), ``size`` (rows), ``loss`` (of the batch)
on_fit_end       ``n_iter``, ``loss``
===============  =============================================================================

With ``solver="lbfgs"`` an epoch is an iteration of L-BFGS; there are no batches, and a
callback with an ``on_batch_end`` hook is an error there.

The estimator given to the hooks is the one being trained: a working copy of the
estimator, which becomes it when the fit succeeds. A fit reads its settings once, when it
starts: ``set_params`` in a hook changes the next fit, not this one. The optimizer owns
the learning rate: a hook may set ``estimator.optimizer_.learning_rate`` (unless a
``learning_rate`` schedule sets it, e.g. MLP's ``"invscaling"`` with ``solver="sgd"`` or
``"cosine"``, or the tabular estimators' ``coslog4``: then the built-in learning-rate
callbacks refuse to run). A plain function
``f(estimator, logs)`` in the list is called at the end of every epoch.

A callback whose ``stops_training`` is True (:class:`EarlyStopping`, and
:class:`ReduceLROnPlateau` with ``min_lr > 0``) decides when training ends: while one is
in the list, the estimator's own rule (no improvement by ``tol`` for ``n_iter_no_change``
epochs) ends no fit. A fit that a callback stops is no ``ConvergenceWarning``.

Callbacks are ordinary constructor values: they are cloned (deep-copied) with the
estimator and pickled with it.
"""

from __future__ import annotations

import copy
import numbers

import numpy as np

# the base class (with the checks of the callbacks that watch a quantity) and the progress
# display have modules of their own; this module is the public home of every callback
from ._callback_base import Callback, check_count, check_monitor, monitored
from ._files import append_line, csv_line, drop_torn_line, replace_file, write_text
from ._progress import ProgressBar

__all__ = [
    "Callback",
    "History",
    "ProgressBar",
    "EarlyStopping",
    "ReduceLROnPlateau",
    "LearningRateScheduler",
    "Checkpoint",
    "CSVLogger",
]


class History(Callback):
    """Record the logs of every epoch: ``history["loss"]`` is the list of the epochs'
    losses, and so on for every key of ``on_epoch_end``'s logs."""

    def __init__(self):
        self.history = {}

    def on_fit_begin(self, estimator, logs):
        self.history = {}

    def on_epoch_end(self, estimator, logs):
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)


class _Plateau(Callback):
    """Shared bookkeeping: the best value of ``monitor`` and epochs since it improved
    by more than ``min_delta``."""

    def __init__(self, monitor, patience, min_delta):
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta

    def on_fit_begin(self, estimator, logs):
        check_monitor(self, logs)
        check_count(self, "patience", 0)
        self._best, self._wait, self._best_epoch = None, 0, 0
        self.stopped_epoch = self.stop_reason = None

    def _better(self, value, larger):
        """Whether ``value`` improves on the best one by more than ``min_delta``."""
        if self._best is None:
            return True
        return value > self._best + self.min_delta if larger else value < self._best - self.min_delta

    def _improved(self, logs):
        value, larger = monitored(logs, self)
        better = self._better(value, larger)
        if better:
            self._best, self._wait, self._best_epoch = value, 0, logs["epoch"]
        else:
            self._wait += 1
        return better

    def _no_improvement(self):
        """Why the monitored value counts as stalled, in words."""
        return (
            f"{self.monitor} has not improved by more than {self.min_delta} for {self.patience} epochs "
            f"(best {self._best:.6g} at epoch {self._best_epoch})"
        )


def _network_state(estimator):
    """Copies of the network's parameters and buffers."""
    return [
        [np.array(getattr(m, name), copy=True) if getattr(m, name, None) is not None else None
         for name in (*m._parameters, *m._buffers)]
        for m in estimator.network_.leaves()
    ]  # fmt: skip


def _restore_network_state(estimator, state):
    for module, values in zip(estimator.network_.leaves(), state, strict=True):
        for name, value in zip((*module._parameters, *module._buffers), values, strict=True):
            if name in module._parameters:
                getattr(module, name)[...] = value  # in place: the parameters are views of the flat vector
            else:
                setattr(module, name, value)


class EarlyStopping(_Plateau):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for
    ``patience`` epochs.

    This callback decides when training ends (``stops_training``): while it is in the
    estimator's list, the estimator's own rule (``tol`` and ``n_iter_no_change``, with
    or without ``early_stopping=True``) ends no fit, so ``EarlyStopping(patience=30)``
    gets its 30 epochs whatever ``n_iter_no_change`` says. ``early_stopping=True`` then
    still holds out ``validation_fraction`` of the rows and, at the end, puts back the
    weights of the best validation score, before this callback's ``restore_best``
    (which has the last word). A stop is no ``ConvergenceWarning``.

    Parameters
    ----------
    monitor : {"validation_loss", "validation_score", "loss"}, default="validation_loss"
        What to watch. The validation quantities need a validation set: one given to
        ``fit`` (``fit(X, y, X_val=X_val, y_val=y_val)`` or ``fit(X, y,
        validation_data=(X_val, y_val))``) or the estimator's own split
        (``early_stopping=True``). A fit without one is an error before its first
        epoch.
    patience : int, default=10
        Epochs without improvement before training stops.
    min_delta : float, default=0.0
        The smallest change that counts as an improvement.
    restore_best : bool, default=False
        End with the parameters (and batch-norm statistics) of the best epoch.

    Attributes
    ----------
    stopped_epoch : int or None
        The epoch after which this callback stopped the last fit (None if it did not).
    stop_reason : str or None
        Why, in words.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknn_scratch import NumpyNetClassifier
    >>> from sknn_scratch.callbacks import EarlyStopping
    >>> X, y = load_digits(return_X_y=True)
    >>> stopper = EarlyStopping(monitor="validation_loss", patience=3, restore_best=True)
    >>> clf = NumpyNetClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.05, callbacks=stopper,
    ...                          random_state=0).fit(X[:1400] / 16, y[:1400], X_val=X[1400:] / 16, y_val=y[1400:])
    >>> clf.n_iter_ == stopper.stopped_epoch < 200
    True
    """

    stops_training = True

    def __init__(self, monitor="validation_loss", patience=10, min_delta=0.0, restore_best=False):
        super().__init__(monitor, patience, min_delta)
        self.restore_best = restore_best

    def on_fit_begin(self, estimator, logs):
        super().on_fit_begin(estimator, logs)
        self._state = None

    def on_epoch_end(self, estimator, logs):
        if self._improved(logs):
            if self.restore_best:
                self._state = _network_state(estimator)
            return False
        if self._wait >= self.patience:
            self.stopped_epoch = logs["epoch"]
            self.stop_reason = self._no_improvement()
            return True
        return False

    def on_fit_end(self, estimator, logs):
        if self.restore_best and self._state is not None:
            _restore_network_state(estimator, self._state)
        self._state = None  # not kept in the pickle


def _no_schedule(callback, estimator):
    """A learning-rate callback and a schedule would overwrite each other's rate."""
    optimizer = getattr(estimator, "optimizer_", None)
    if getattr(optimizer, "schedule", None) is None:
        return
    name = type(callback).__name__
    if "learning_rate" not in estimator.get_params(deep=False):  # a schedule of the estimator's own (tabular)
        raise ValueError(
            f"{name} sets the learning rate, and so does the schedule {type(estimator).__name__} trains on "
            f"({optimizer.schedule!r}), planned for the whole training: the two cannot be combined; tune "
            "learning_rate_init and max_iter instead"
        )
    raise ValueError(
        f"{name} sets the learning rate, and so does learning_rate={estimator.learning_rate!r}: use "
        "learning_rate='constant' with it"
    )


class ReduceLROnPlateau(_Plateau):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved by more
    than ``min_delta`` for ``patience`` epochs, down to ``min_lr``; stop training when
    the rate is already at ``min_lr`` by then.

    The rules are Keras's: the new rate is ``max(rate * factor, min_lr)``, and a rate at
    or below ``min_lr`` is left alone (never raised to it). After a reduction, each of
    the next ``cooldown`` epochs resets the count of epochs without improvement, and the
    epoch that ends the cooldown counts again: without improvement, the next reduction
    comes ``patience + max(cooldown - 1, 0)`` epochs later (Keras's arithmetic, in
    which ``cooldown=1`` changes nothing).

    When a reduction is due and the rate cannot fall any further (it is at ``min_lr``),
    the callback stops training: nothing has improved for ``patience`` epochs and a
    lower rate is not allowed, so further epochs would change little or nothing. It
    records ``stopped_epoch`` and ``stop_reason``, which ``verbose=True`` prints; as
    any stop a callback asks for, it is no ``ConvergenceWarning``. With ``min_lr=0``
    (the default, Keras's) the rate can always fall and this callback never stops
    training, so the estimator's own rule (``n_iter_no_change``) stays on; with
    ``min_lr > 0`` the callback decides when training ends (``stops_training``), as
    :class:`EarlyStopping` does.

    Parameters
    ----------
    monitor : {"loss", "validation_loss", "validation_score"}, default="loss"
        What to watch (the validation quantities need a validation set, as for
        :class:`EarlyStopping`).
    factor : float, default=0.1
        The rate's multiplier at a reduction, in (0, 1).
    patience : int, default=5
        Epochs without improvement before a reduction (or, at ``min_lr``, the stop).
    min_delta : float, default=0.0
        The smallest change that counts as an improvement.
    min_lr : float, default=0.0
        The lowest rate; reaching it and stalling again ends training.
    cooldown : int, default=0
        Epochs after a reduction whose count of epochs without improvement starts
        again from 0 (see above).

    Attributes
    ----------
    stopped_epoch : int or None
        The epoch after which this callback stopped the last fit (None if it did not).
    stop_reason : str or None
        Why, in words.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknn_scratch import NumpyNetClassifier
    >>> from sknn_scratch.callbacks import ReduceLROnPlateau
    >>> X, y = load_digits(return_X_y=True)
    >>> plateau = ReduceLROnPlateau(factor=0.5, patience=1, min_delta=10.0, min_lr=2.5e-4)  # nothing improves by 10
    >>> clf = NumpyNetClassifier(hidden_layer_sizes=(16,), callbacks=plateau, random_state=0).fit(X / 16, y)
    >>> clf.learning_rate_curve_, plateau.stopped_epoch
    ([0.001, 0.001, 0.0005, 0.00025], 4)
    """

    def __init__(self, monitor="loss", factor=0.1, patience=5, min_delta=0.0, min_lr=0.0, cooldown=0):
        super().__init__(monitor, patience, min_delta)
        self.factor, self.min_lr, self.cooldown = factor, min_lr, cooldown

    @property
    def stops_training(self):
        """True when ``min_lr > 0``: the rate reaches its floor, and training then ends here."""
        return isinstance(self.min_lr, numbers.Real) and self.min_lr > 0

    def on_fit_begin(self, estimator, logs):
        super().on_fit_begin(estimator, logs)
        if isinstance(self.factor, bool) or not isinstance(self.factor, numbers.Real) or not 0 < self.factor < 1:
            raise ValueError(f"ReduceLROnPlateau factor must be a number in (0, 1), got {self.factor!r}")
        if isinstance(self.min_lr, bool) or not isinstance(self.min_lr, numbers.Real) or not self.min_lr >= 0:
            raise ValueError(f"ReduceLROnPlateau min_lr must be a number >= 0, got {self.min_lr!r}")
        check_count(self, "cooldown", 0)
        _no_schedule(self, estimator)
        self._cooling = 0  # epochs of cooldown left

    def on_epoch_end(self, estimator, logs):
        value, larger = monitored(logs, self)
        if self._cooling > 0:
            self._cooling -= 1
            self._wait = 0
        if self._better(value, larger):
            self._best, self._wait, self._best_epoch = value, 0, logs["epoch"]
            return False
        if self._cooling > 0:
            return False
        self._wait += 1
        optimizer = estimator.optimizer_
        if self._wait < self.patience or optimizer is None:  # (L-BFGS has no rate)
            return False
        rate = optimizer.learning_rate
        if rate > self.min_lr:
            optimizer.learning_rate = max(rate * self.factor, self.min_lr)
            self._wait, self._cooling = 0, self.cooldown
            return False
        self.stopped_epoch = logs["epoch"]
        self.stop_reason = f"the learning rate is at min_lr={self.min_lr:g} and {self._no_improvement()}"
        return True


class LearningRateScheduler(Callback):
    """Set the learning rate after every epoch to ``schedule(epoch, learning_rate)``
    (``epoch`` the number of epochs done, 1-based; the result applies to the next).

    Parameters
    ----------
    schedule : callable
        ``schedule(epoch, learning_rate) -> float``. A module-level function pickles
        with the model; a lambda does not.
    """

    def __init__(self, schedule):
        self.schedule = schedule

    def on_fit_begin(self, estimator, logs):
        _no_schedule(self, estimator)

    def on_epoch_end(self, estimator, logs):
        optimizer = estimator.optimizer_
        if optimizer is not None:
            optimizer.learning_rate = float(self.schedule(logs["epoch"], optimizer.learning_rate))
        return False


class Checkpoint(Callback):
    """Save the estimator with ``joblib.dump`` after every epoch that improves
    ``monitor`` (every epoch with ``save_best_only=False``). The file loads and predicts
    as the estimator did at that epoch, and can go on training; it holds the model
    without the callbacks of the training that saved it.

    Parameters
    ----------
    path : str or path-like
    monitor : {"validation_loss", "validation_score", "loss"}, default="validation_loss"
    save_best_only : bool, default=True
    """

    def __init__(self, path, monitor="validation_loss", save_best_only=True):
        self.path, self.monitor, self.save_best_only = path, monitor, save_best_only

    def on_fit_begin(self, estimator, logs):
        if self.save_best_only:
            check_monitor(self, logs)
        self._best = None
        self.saved_epoch = None

    def on_epoch_end(self, estimator, logs):
        import joblib

        if self.save_best_only:
            value, larger = monitored(logs, self)
            if self._best is not None and not (value > self._best if larger else value < self._best):
                return False
            self._best = value
        # the model, without the training's callbacks: the file goes on training as any model does
        saved = copy.copy(estimator)
        saved.callbacks = None
        saved.__dict__.pop("_skl_callbacks", None)
        replace_file(self.path, lambda temporary: joblib.dump(saved, temporary))
        self.saved_epoch = logs["epoch"]
        return False


class CSVLogger(Callback):
    """Write the logs of every epoch as a row of a CSV file (a header first).

    A new file's header is written to a temporary file that is then renamed to
    ``path``, and every row is appended in one write, synced to disk: a crash or a full
    disk leaves whole rows only (or the previous file, when the header could not be
    written). Appending to a file whose last row a crash cut short drops that part row.

    Parameters
    ----------
    path : str or path-like
    append : bool, default=False
        Add to an existing file instead of starting a new one (a header only when the
        file is missing or empty).
    """

    _columns = ("epoch", "loss", "validation_loss", "validation_score", "learning_rate", "seconds")

    def __init__(self, path, append=False):
        self.path, self.append = path, append

    def on_fit_begin(self, estimator, logs):
        if not self.append or drop_torn_line(self.path) == 0:
            header = csv_line(self._columns)
            replace_file(self.path, lambda temporary: write_text(temporary, header))

    def on_epoch_end(self, estimator, logs):
        append_line(self.path, csv_line(["" if logs.get(c) is None else logs[c] for c in self._columns]))
        return False
