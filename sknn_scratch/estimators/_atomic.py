"""Atomic fits: a fit trains a working copy of the estimator, which becomes the estimator
only when the fit succeeds.

Training never writes the arrays of a fitted model (continuing fits train copies), so
an error anywhere in a fit leaves the estimator exactly as it was, and other threads
predict with the previous model while a fit runs.
"""

from __future__ import annotations

import contextlib
import copy
import threading

from ..callbacks import Callback

__all__ = ["training"]

#: the estimators being fitted by each thread (a fit re-entered from its own callbacks is refused)
_FITTING = threading.local()


@contextlib.contextmanager
def training(est):
    """Train a working copy of ``est``: the block gets a new object holding ``est``'s
    attributes, which become ``est``'s in one assignment when the block ends without an
    error.

    Training never writes the arrays of a fitted model (continuing fits train copies),
    so if anything raises, ``est`` is exactly as it was (an unfitted one stays
    unfitted), and while a fit runs other threads predict with the previous model. The
    callback objects of ``est`` are put back as they were too. Parameters set on ``est``
    itself during the fit (``est.set_params`` in a hook, another thread) stay set: they
    take effect at the next fit. A fit of ``est`` started
    from inside this one (e.g. by a callback) raises RuntimeError.
    """
    busy = _FITTING.__dict__.setdefault("ids", set())
    if id(est) in busy:
        raise RuntimeError(
            f"{type(est).__name__}.fit (or partial_fit) was called while a fit of the same estimator runs in this "
            "thread, e.g. from one of its callbacks; train another estimator (sklearn.base.clone(estimator))."
        )
    work = object.__new__(type(est))
    work.__dict__.update(est.__dict__)
    params = {name: est.__dict__.get(name) for name in type(est)._get_param_names()}
    callbacks = est.__dict__.get("callbacks")
    saved = [] if callbacks is None else _callback_states(callbacks)
    busy.update((id(est), id(work)))
    try:
        yield work
    except BaseException:
        for callback, state in saved:
            vars(callback).clear()
            vars(callback).update(state)
        raise
    finally:
        busy.difference_update((id(est), id(work)))
    # parameters set on est itself while it trained (e.g. by a hook holding it) are kept for the next fit
    changed = {name: est.__dict__[name] for name, value in params.items() if est.__dict__.get(name) is not value}
    work.__dict__.update(changed)
    est.__dict__ = work.__dict__


def _callback_states(callbacks):
    """``(callback, copy of its attributes)`` for each Callback object in ``callbacks``
    (parameter validation reports anything else)."""
    items = [callbacks] if isinstance(callbacks, Callback) else callbacks
    saved = []
    for callback in items if isinstance(items, (list, tuple)) else ():
        if isinstance(callback, Callback):
            try:
                state = copy.deepcopy(vars(callback))
            except Exception:  # holds something that does not copy (a lock, a socket): kept as it is, the rest copied
                state = {key: _copy_or_keep(value) for key, value in vars(callback).items()}
            saved.append((callback, state))
    return saved


def _copy_or_keep(value):
    """A deep copy of ``value``, or ``value`` itself when it does not copy."""
    try:
        return copy.deepcopy(value)
    except Exception:
        return value
