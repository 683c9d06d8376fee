"""What every callback builds on: the :class:`~sknn_scratch.callbacks.Callback` base class,
and the checks shared by the callbacks that watch a quantity of the epoch logs (its
name, and a validation set when the quantity is a validation one).

The public names are in :mod:`sknn_scratch.callbacks`, which describes the hooks.
"""

from __future__ import annotations

import numbers

__all__ = ["Callback", "check_monitor", "monitored", "check_count"]


class Callback:
    """Base class of the callbacks; every hook does nothing.

    A subclass that ends training itself when it judges that training is over (its
    ``on_epoch_end`` returns True) sets ``stops_training = True``: while such a callback
    is in the estimator's list, the estimator's own stopping rule (``tol`` and
    ``n_iter_no_change``) no longer ends the fit, so that it cannot stop training before
    the callback's own patience has run out. A callback may set ``stop_reason`` (a
    sentence) before asking to stop; ``verbose=True`` prints it.

    Attributes
    ----------
    stops_training : bool
        Whether this callback decides when training ends (see above); False here.
    """

    # error messages, pickles and the documentation name the public home
    __module__ = "sknn_scratch.callbacks"

    #: whether this callback decides when training ends (see the class docstring)
    stops_training = False

    def on_fit_begin(self, estimator, logs):
        """Called before the first epoch."""

    def on_epoch_end(self, estimator, logs):
        """Called after every epoch (L-BFGS: iteration); return True to stop training."""

    def on_batch_end(self, estimator, logs):
        """Called after every mini-batch's optimizer step."""

    def on_fit_end(self, estimator, logs):
        """Called when training ends without error (also when a callback stopped it)."""

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_") and k != "history")
        return f"{type(self).__name__}({args})"


#: the quantities of the epoch logs that a callback may watch
_MONITORS = ("loss", "validation_loss", "validation_score")


def _missing_validation(callback, logs):
    """The error of a callback that monitors a validation quantity in a fit without one:
    it names every way to give one."""
    what = f"{type(callback).__name__}(monitor={callback.monitor!r}) needs validation data"
    if logs.get("solver") == "lbfgs":
        return ValueError(
            f"{what}, and solver='lbfgs' scores no validation set (it trains without epochs): use a stochastic "
            "solver ('adam', 'sgd') with a validation set, or monitor='loss'"
        )
    if logs.get("incremental"):
        return ValueError(
            f"{what}, and partial_fit takes no validation set: monitor='loss', or use fit(X, y, X_val=X_val, "
            "y_val=y_val) or fit(X, y, validation_data=(X_val, y_val))"
        )
    return ValueError(
        f"{what}, and this fit has none: give a validation set to fit, as fit(X, y, X_val=X_val, y_val=y_val) or "
        "fit(X, y, validation_data=(X_val, y_val)), or set early_stopping=True to hold out validation_fraction of "
        "the training rows; or monitor='loss'"
    )


def check_monitor(callback, logs):
    """At the start of a fit: ``callback.monitor`` is a quantity of the epoch logs, and a
    validation quantity has a validation set to come from."""
    if callback.monitor not in _MONITORS:
        raise ValueError(
            f"{type(callback).__name__} monitor must be 'loss', 'validation_loss' or 'validation_score', "
            f"got {callback.monitor!r}"
        )
    if callback.monitor != "loss" and logs.get("validation") is False:
        raise _missing_validation(callback, logs)


def monitored(logs, callback):
    """The value ``callback.monitor`` names in the epoch's logs, and whether larger is better."""
    check_monitor(callback, {})
    value = logs.get(callback.monitor)
    if value is None:
        raise _missing_validation(callback, logs)
    return value, callback.monitor == "validation_score"


def check_count(callback, name, minimum):
    value = getattr(callback, name)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{type(callback).__name__} {name} must be an integer >= {minimum}, got {value!r}")
