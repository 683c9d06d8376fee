"""The progress display: :class:`~sknn_scratch.callbacks.ProgressBar`, a row of plain
text per epoch, and how its rows are formatted (fixed-width columns, durations in at
most 8 characters).
"""

from __future__ import annotations

import copy
import numbers
import pickle
import sys
import time

from ._callback_base import Callback

__all__ = ["ProgressBar"]


def _number(value, width, spec):
    """``value`` formatted by ``spec``, right-aligned in ``width`` characters; with fewer
    significant digits when it would not fit, so that the columns stay aligned."""
    text, digits = format(value, spec), width
    while len(text) > width and digits > 1:
        digits -= 1
        text = format(value, f".{digits}g")
    return text.rjust(width)


def _format(logs, elapsed, *, last=False):
    """One row: epoch, losses, score, learning rate, seconds of the epoch, and the time
    left if training runs to ``max_iter`` (``last``: the total time instead).

    Every column has a fixed width, so that the columns of successive rows line up.
    """
    epoch, total = logs["epoch"], logs["max_iter"]
    parts = [f"epoch {epoch:>{len(str(total))}}/{total}", f"loss {_number(logs['loss'], 9, '.5g')}"]
    if logs.get("validation_loss") is not None:
        parts.append(f"val_loss {_number(logs['validation_loss'], 9, '.5g')}")
    if logs.get("validation_score") is not None:
        parts.append(f"val_score {_number(logs['validation_score'], 7, '.4f')}")
    if logs.get("learning_rate") is not None:
        parts.append(f"lr {_number(logs['learning_rate'], 8, '.3g')}")
    parts.append(f"{_number(logs['seconds'], 6, '.2f')} s")
    if last:
        parts.append(f"total {_duration(elapsed):>8}")
    else:
        parts.append(f"ETA   {_duration(elapsed / epoch * (total - epoch)):>8}")
    return "  ".join(parts)


def _duration(seconds):
    """At most 8 characters: "12.3 s" under a minute, then "m:ss", "h:mm:ss", and days."""
    if seconds < 59.95:
        return f"{seconds:.1f} s"
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class ProgressBar(Callback):
    """Print a row per epoch: epoch, loss, validation loss and score, learning rate,
    seconds of the epoch and the time left if training runs to ``max_iter``.

    Plain text, one row per epoch, flushed: it reads the same in a terminal, a log
    file and a notebook. Every column has a fixed width, so the rows line up. The row
    of the last epoch shows the total time of the fit instead of the time left; when
    training stops before ``max_iter`` after a row that showed the time left, a last
    line gives the total time under that column.

    Parameters
    ----------
    every : int, default=1
        Print every ``every``-th epoch (and the last one).
    file : file-like, default=None
        Where to print; None is ``sys.stdout`` at the time of printing.

    Examples
    --------
    >>> import io
    >>> from sklearn.datasets import load_iris
    >>> from sknn_scratch import NumpyNetClassifier
    >>> from sknn_scratch.callbacks import ProgressBar
    >>> X, y = load_iris(return_X_y=True)
    >>> out = io.StringIO()
    >>> clf = NumpyNetClassifier(max_iter=3, callbacks=ProgressBar(file=out), random_state=0).fit(X, y)
    >>> rows = out.getvalue().splitlines()
    >>> [row.split()[1] for row in rows], rows[-1].split()[-3]
    (['1/3', '2/3', '3/3'], 'total')
    """

    # a pickle names the public home (one printing to a file object is pickled by reference)
    __module__ = "sknn_scratch.callbacks"

    def __init__(self, every=1, file=None):
        self.every = every
        self.file = file

    def on_fit_begin(self, estimator, logs):
        if isinstance(self.every, bool) or not isinstance(self.every, numbers.Integral) or self.every < 1:
            raise ValueError(f"ProgressBar every must be an integer >= 1, got {self.every!r}")
        self._start = time.perf_counter()
        self._incremental = bool(logs.get("incremental"))  # partial_fit: one epoch
        self._last_logs = None
        self._owed = None  # what the end of the fit still prints: None, "row" or "total"

    def on_epoch_end(self, estimator, logs):
        elapsed = time.perf_counter() - self._start
        final = self._incremental or logs["epoch"] >= logs["max_iter"]  # no epoch follows this one
        printed = final or logs["epoch"] % self.every == 0
        if printed:
            self._print(_format(logs, elapsed, last=final))
        self._last_logs = logs
        self._owed = None if final else "total" if printed else "row"

    def on_fit_end(self, estimator, logs):
        # training stopped before max_iter: the last epoch's row with the total time, or,
        # when that row is printed with the time left, the total alone under that column
        if self._owed is None:
            return
        row = _format(self._last_logs, time.perf_counter() - self._start, last=True)
        if self._owed == "total":
            column = row.rindex("total")
            row = " " * column + row[column:]
        self._print(row)

    def _print(self, line):
        print(line, file=self.file or sys.stdout, flush=True)

    def __deepcopy__(self, memo):  # a clone prints to the same file
        twin = copy.copy(self)
        memo[id(self)] = twin
        return twin

    def __getstate__(self):  # a file that does not pickle (a terminal's stream): a loaded callback prints to stdout
        state = dict(vars(self))
        try:
            pickle.dumps(state["file"])
        except Exception:
            state["file"] = None
        return state
