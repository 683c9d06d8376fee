"""Training steps shared by forked processes: each process takes a part of every batch
*and* a part of every parameter update.

Threads cannot put a second core to good use on a dense network. Its element-wise
work (the optimizer's passes above all) is a few dozen short NumPy calls per step,
and each call hands the interpreter lock back and forth: on a 2-core machine two
threads running the optimizer's passes over separate halves of the parameters take
as long as one thread doing both. Processes share no lock. On x86-64 Linux the
estimators therefore fork ``n_parts - 1`` worker processes when a training run is
large enough (see ``BaseNumpyNet._training_processes``). The workers inherit the
network, the head and the training data, and share with the parent, in anonymous
shared memory:

- the parameter vector (``_Packed.params``), which every process reads in its forward
  pass;
- one gradient vector per process, written by that process's backward pass over its
  part of the batch (the head divides by the weight of the whole batch, so the parts'
  gradients add up to the batch's);
- the optimizer's carried state (Adam's moments, SGD's velocity).

Once every backward pass is done, process ``k`` adds up the gradients over its own
contiguous region of the parameter vector and runs the optimizer on that region
alone. Each step has two waits: one before the updates (every gradient is complete)
and one after them (every parameter is updated). The processes wait by spinning on
shared counters, yielding the core at each turn, so no system call has to wake a
process up. A wait that goes on for milliseconds (between epochs) naps instead.

BLAS is limited to one thread meanwhile. The gradients are summed in another order
than in one process, so results differ from a one-process run by rounding (and are
the same from run to run). When the run ends, also on error or interrupt, the workers
are stopped and reaped, and the parameters and optimizer state move back into the
process's own memory. A worker never touches a lock of the parent: it runs NumPy on
arrays it was given and reads the counters. Visibility between the counters and the
data they announce relies on x86-64's ordering of stores, hence the platform
restriction.
"""

from __future__ import annotations

import gc
import mmap
import os
import pickle
import platform
import signal
import sys
import time
import traceback
import warnings

import numpy as np

from ..optim.optimizers import aligned_zeros, shaped_like_order
from ._parallel import SplitBatch, limit_blas_threads, part_bounds

__all__ = ["ForkedTraining", "WorkerError", "forked_training_supported", "shared_zeros"]

# slots of the parent's line of the control block (int64, or float64 where noted)
_SEQ, _GO, _ABORT, _START, _STOP, _PARTS, _FLAGS, _DECAY, _TOTAL = range(9)  # _DECAY, _TOTAL: float64
# slots of worker k's line, which starts at _LINE * k
_DONE, _UPDATED, _NONFINITE, _FAILED, _STOPPED, _LOSS, _PENALTY = range(7)  # _LOSS, _PENALTY: float64
#: slots per line: lines of 128 bytes keep each process's counters off the others' cache lines
_LINE = 16
#: flags of a step
_CHECK, _NEW_EPOCH = 1, 2
#: a wait spins this long, then naps between looks
_SPIN_SECONDS = 0.005
_NAP_SECONDS = 0.0002
#: bytes for a worker's error report, and for the optimizer's settings
_MESSAGE_BYTES = 8192
_SETTINGS_BYTES = 1 << 16
#: how long stopping waits for a worker before killing it
_REAP_SECONDS = 10.0
#: parameter regions start on multiples of this many elements (whole cache lines)
_REGION_ALIGN = 16
#: the parent's share of the update relative to a worker's: a worker's region spans the
#: small tail of the vector (biases too), which costs it more per element (measured on
#: 2 cores, the parent then waits ~2 us for the update instead of ~35 us)
_PARENT_WEIGHT = 1.17


def forked_training_supported():
    """True where :class:`ForkedTraining` can run: x86-64 Linux (``os.fork``)."""
    return (
        sys.platform.startswith("linux") and platform.machine().lower() in ("x86_64", "amd64") and hasattr(os, "fork")
    )


def shared_zeros(shape, dtype, order="C"):
    """A zeroed array (``order`` "C" or "F") in anonymous shared memory: processes
    forked afterwards see each other's writes to it. Page-aligned."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape, dtype=np.int64))
    buffer = mmap.mmap(-1, max(size * dtype.itemsize, 1))
    return shaped_like_order(np.frombuffer(buffer, dtype=dtype, count=size), shape, order)


class WorkerError(RuntimeError):
    """A worker process failed or ended during training."""


class ForkedTraining:
    """Trains on batches split across ``n_parts`` processes (this one and forked
    workers); a context manager that owns the workers.

    Parameters
    ----------
    estimator : BaseNumpyNet
        Its ``_net`` (in training mode, every layer sample-wise) and ``_head`` are
        trained; its ``_check_finite_rows``/``_assert_finite`` check the rows.
    X, Y, sample_weight : ndarrays (sample_weight may be None)
        The training rows (dense), fixed for the whole run.
    packed : _Packed
        The network's parameter and gradient vectors.
    optimizer : Optimizer
        Updates the parameters; :meth:`step` reads its settings at every new epoch.
    n_parts : int
        Processes, at least 2.
    batch_size : int
        Largest batch :meth:`step` will be given.
    """

    def __init__(self, estimator, X, Y, sample_weight, packed, optimizer, n_parts, batch_size):
        if n_parts < 2:
            raise ValueError(f"n_parts must be at least 2, got {n_parts}")
        self.n_parts = n_parts
        self._estimator = estimator
        self._X, self._Y, self._weights = X, Y, sample_weight
        self._packed = packed
        self._optimizer = optimizer
        self._batch_size = batch_size
        self._pids = []
        self._limits = None
        self._ints = self._floats = None
        self._view = None
        self._relocated = False
        self._unfreeze = False
        self._buffers = None
        self._seq = 0
        self._new_epoch = False
        self._bounds = {}

    # -- set-up and tear-down (parent) ---------------------------------------------------------
    def __enter__(self):
        try:
            self._open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _open(self):
        self._limits = limit_blas_threads(1)
        control = mmap.mmap(-1, 8 * _LINE * self.n_parts)
        self._ints, self._floats = memoryview(control).cast("q"), memoryview(control).cast("d")
        self._messages = mmap.mmap(-1, _MESSAGE_BYTES * self.n_parts)
        self._settings = mmap.mmap(-1, _SETTINGS_BYTES)
        self._order = shared_zeros((self._X.shape[0],), np.intp)
        net, packed = self._estimator._net, self._packed
        # the arrays in this process's memory are kept for the way back: their pages
        # are mapped already (fresh ones would fault in page by page)
        self._private = (packed.params, packed.grads)
        self._private_state = {name: dict(self._optimizer.state.get(name, {})) for name in self._optimizer._carried}
        packed.relocate(net, shared_zeros)
        self._relocated = True
        self._optimizer._move_state(self._param_blocks(), shared_zeros)
        self._worker_grads = [shared_zeros(packed.grads.shape, packed.grads.dtype) for _ in range(self.n_parts - 1)]
        self._regions = self._split_regions()
        self._view = self._optimizer._regional(self._regions[0])
        # the objects there are now are left out of garbage collection until the end: a
        # full collection writes to every object it visits, and each page written
        # would be copied, the worker keeping the original
        self._unfreeze = gc.get_freeze_count() == 0
        gc.freeze()
        for k in range(1, self.n_parts):
            with warnings.catch_warnings():
                # Python >= 3.12 warns on forking a process that runs other threads (here
                # BLAS's): the worker runs only NumPy on the arrays it is given
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the worker, which never returns
                self._serve(k)
            self._pids.append(pid)

    def close(self):
        """Stop the workers, move the parameters and the optimizer's state back into
        this process's memory (while the workers' memory is torn down), and reap them.
        Safe to call more than once."""
        try:
            self._stop()
        finally:
            try:
                self._move_back()
            finally:
                try:
                    self._reap()
                finally:
                    if self._limits is not None:
                        self._limits.restore_original_limits()
                        self._limits = None
                    if self._unfreeze:  # (objects frozen before, by someone else, stay so)
                        self._unfreeze = False
                        gc.unfreeze()

    def _stop(self):
        """Tell the workers to stop and wait until each has (it touches nothing shared
        any more), killing one that has not within :data:`_REAP_SECONDS`."""
        if self._ints is None:
            return
        self._ints[_ABORT] = 1
        deadline = time.monotonic() + _REAP_SECONDS
        for k, pid in enumerate(self._pids, start=1):
            while not self._ints[_LINE * k + _STOPPED] and not _reaped(pid):
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    break
                time.sleep(_NAP_SECONDS / 4)

    def _move_back(self):
        if not self._relocated:
            return
        self._relocated = False
        private = iter(self._private)
        self._packed.relocate(self._estimator._net, lambda shape, dtype: next(private))
        self._optimizer._move_state(self._param_blocks(), aligned_zeros, reuse=self._private_state)
        if self._view is not None:  # the step count and the like went on in the view
            scalars = {k: v for k, v in self._view.state.items() if not isinstance(v, dict)}
            self._optimizer.state.update(scalars)

    def _reap(self):
        """Wait for every (stopped) worker to exit: waiting for its memory to be torn
        down costs a few milliseconds, but leaving that to overlap the next run costs
        that run more."""
        for pid in self._pids:
            while not _reaped(pid):
                time.sleep(_NAP_SECONDS / 4)
        self._pids = []

    def _param_blocks(self):
        packed = self._packed
        return [packed.decay_params, packed.other_params]

    def _split_regions(self):
        """Per process, the ``(block, start, stop)`` regions of its contiguous share of
        the parameter vector (blocks: the weights, then the rest)."""
        sizes = [block.size for block in self._param_blocks()]
        total = sum(sizes)
        weights = np.cumsum([0.0, _PARENT_WEIGHT] + [1.0] * (self.n_parts - 1))
        cuts = [min(total, round(total * w / weights[-1] / _REGION_ALIGN) * _REGION_ALIGN) for w in weights[:-1]]
        cuts.append(total)
        regions = []
        for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
            parts, offset = [], 0
            for index, size in enumerate(sizes):
                start, stop = max(lo, offset) - offset, min(hi, offset + size) - offset
                if start < stop:
                    parts.append((index, start, stop))
                offset += size
            regions.append(parts)
        return regions

    # -- training (parent) ---------------------------------------------------------------------
    def begin_epoch(self, order):
        """Start an epoch over the rows in ``order`` (None: in their order), with the
        optimizer's current settings (a learning-rate schedule may have changed them)."""
        if order is None:
            self._order[:] = np.arange(self._order.size)
        else:
            self._order[:] = order
        settings = self._optimizer._hyperparameters()
        blob = pickle.dumps(settings)
        if len(blob) + 8 > _SETTINGS_BYTES:
            raise ValueError(f"the optimizer's settings take {len(blob)} bytes pickled, over {_SETTINGS_BYTES - 8}")
        self._settings[:8] = len(blob).to_bytes(8, "little")
        self._settings[8 : 8 + len(blob)] = blob
        vars(self._view).update(settings)
        self._new_epoch = True

    def rows(self, start, stop):
        """The rows of the batch ``start:stop`` of the epoch."""
        return self._order[start:stop]

    def step(self, start, stop, decay, check_finite=False):
        """Train on the batch ``start:stop`` of the epoch: forward and backward passes
        on its parts, then the update with the L2 coefficient ``decay``. Returns the
        loss of the batch (its weighted mean plus the L2 term, before the update).
        With ``check_finite`` every part is checked for NaN and infinity first, and
        scikit-learn's error is raised before anything is updated."""
        ints, floats = self._ints, self._floats
        self._seq = seq = self._seq + 1
        rows = self._order[start:stop]
        bounds = self._part_bounds(stop - start)
        parts = 1 if bounds is None else len(bounds) - 1
        total = None
        if bounds is not None:
            total = float(stop - start) if self._weights is None else float(self._weights[rows].sum())
        ints[_START], ints[_STOP], ints[_PARTS] = start, stop, parts
        ints[_FLAGS] = (_CHECK if check_finite else 0) | (_NEW_EPOCH if self._new_epoch else 0)
        floats[_DECAY], floats[_TOTAL] = decay, 0.0 if total is None else total
        self._new_epoch = False
        ints[_SEQ] = seq  # last: the workers see the step's settings with it
        own = rows if bounds is None else rows[bounds[0] : bounds[1]]
        loss = self._loss_grad(own, total, check_finite, raise_=True)
        self._wait_workers(_DONE, seq)
        for k in range(1, parts):
            if check_finite and ints[_LINE * k + _NONFINITE] == seq:  # raises unless the sum just overflowed
                self._estimator._assert_finite(np.take(self._X, rows[bounds[k] : bounds[k + 1]], axis=0))
            loss += floats[_LINE * k + _LOSS]
        ints[_GO] = seq
        penalty = self._update(self._view, 0, decay, parts)
        self._wait_workers(_UPDATED, seq)
        penalty += sum(floats[_LINE * k + _PENALTY] for k in range(1, self.n_parts))
        return loss + penalty

    def _wait_workers(self, slot, value):
        ints = self._ints
        for k in range(1, self.n_parts):
            _wait(ints, _LINE * k + slot, value, self._check_workers)

    def _check_workers(self):
        for k, pid in enumerate(self._pids, start=1):
            if self._ints[_LINE * k + _FAILED]:
                report = bytes(self._messages[_MESSAGE_BYTES * k : _MESSAGE_BYTES * (k + 1)]).rstrip(b"\0")
                raise WorkerError(f"a training worker process failed:\n{report.decode(errors='replace')}")
            if _reaped(pid):
                raise WorkerError(f"a training worker process (pid {pid}) ended unexpectedly")

    # -- either process ------------------------------------------------------------------------
    def _part_bounds(self, n):
        """:func:`part_bounds` of a batch of ``n`` rows, as Python ints (kept per ``n``)."""
        if n not in self._bounds:
            bounds = part_bounds(n, self.n_parts)
            self._bounds[n] = None if bounds is None else tuple(int(b) for b in bounds)
        return self._bounds[n]

    def _part_rows(self, k, start, stop):
        """Part ``k``'s rows of the batch ``start:stop`` of the epoch, or None when the
        batch is not split or has fewer parts."""
        bounds = self._part_bounds(stop - start)
        if bounds is None or k >= len(bounds) - 1:
            return None
        return self._order[start + bounds[k] : start + bounds[k + 1]]

    def _gather(self, rows):
        """The rows ``rows`` of X and Y, in this process's buffers."""
        if self._buffers is None:
            X, Y, n = self._X, self._Y, self._batch_size
            self._buffers = (
                np.empty((n, *X.shape[1:]), dtype=X.dtype),
                np.empty((n, *Y.shape[1:]), dtype=Y.dtype),
                np.ones(X.shape[1], dtype=X.dtype),
            )
        x_buffer, y_buffer, _ = self._buffers
        n = len(rows)
        # rows come from a permutation: "clip" changes nothing and spares a temporary
        xb = np.take(self._X, rows, axis=0, out=x_buffer[:n], mode="clip")
        yb = np.take(self._Y, rows, axis=0, out=y_buffer[:n], mode="clip")
        return xb, yb

    def _loss_grad(self, rows, total, check_finite, raise_, gathered=None):
        """Forward and backward passes of this process on ``rows`` (``gathered``: their
        ``(X, Y)`` rows, gathered already); its loss."""
        estimator = self._estimator
        xb, yb = self._gather(rows) if gathered is None else gathered
        ones = self._buffers[2]
        if check_finite:
            if raise_:
                estimator._check_finite_rows(xb, ones)
            elif not _finite(estimator, xb, ones):
                self._ints[_LINE * self._k + _NONFINITE] = self._seq
        wb = None if self._weights is None else self._weights[rows]
        return SplitBatch._run((estimator._net, estimator._head, None), xb, yb, wb, total, False)

    def _update(self, view, k, decay, parts):
        """Process ``k``'s share of the update: the optimizer's step on its region,
        whose gradient is summed over the ``parts`` that computed one. Returns the
        region's L2 term ``decay/2 * sum(W**2)`` before the step."""
        packed = self._packed
        param_blocks = self._param_blocks()
        grad_blocks = [packed.decay_grads, packed.other_grads]
        offsets = [0, packed.decay_params.size]
        params, grads, addends, decays = [], [], [], []
        for index, start, stop in self._regions[k]:
            params.append(param_blocks[index][start:stop])
            grads.append(grad_blocks[index][start:stop])
            lo, hi = offsets[index] + start, offsets[index] + stop
            addends.append([other[lo:hi] for other in self._worker_grads[: parts - 1]])
            decays.append(decay if index == 0 else 0.0)
        return view.step(params, grads, weight_decay=decays, addends=addends)

    # -- the worker ----------------------------------------------------------------------------
    def _serve(self, k):  # pragma: no cover - runs in the worker process
        """The worker's whole life: serve steps until the parent stops it, then exit
        without running anything of the parent's (no exit handlers, no flushes)."""
        status = 1
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C is the parent's, which stops us
            gc.disable()  # a short life, and a collection would copy the pages it visits
            warnings.simplefilter("ignore")  # nobody would see them: the parent's part warns alike
            self._k, self._parent = k, os.getppid()
            self._pids = []
            estimator, ints, floats = self._estimator, self._ints, self._floats
            self._packed.bind_gradients(estimator._net, self._worker_grads[k - 1])
            view = self._optimizer._regional(self._regions[k])
            line = _LINE * k
            seq = self._seq
            prefetched, gathered = None, None
            while True:
                seq += 1
                if not self._wait_parent(_SEQ, seq):
                    break
                self._seq = seq
                if ints[_FLAGS] & _NEW_EPOCH:
                    size = int.from_bytes(self._settings[:8], "little")
                    vars(view).update(pickle.loads(self._settings[8 : 8 + size]))
                parts = ints[_PARTS]
                start, stop = ints[_START], ints[_STOP]
                if k < parts:
                    rows = self._part_rows(k, start, stop)
                    ready = gathered if prefetched == (start, stop) and not ints[_FLAGS] & _NEW_EPOCH else None
                    floats[line + _LOSS] = self._loss_grad(
                        rows, floats[_TOTAL], bool(ints[_FLAGS] & _CHECK), False, ready
                    )
                ints[line + _DONE] = seq
                if not self._wait_parent(_GO, seq):
                    break
                floats[line + _PENALTY] = self._update(view, k, floats[_DECAY], parts)
                ints[line + _UPDATED] = seq
                prefetched, gathered = self._prefetch(k, stop)
            status = 0
        except BaseException:
            report = traceback.format_exc().encode(errors="replace")[-(_MESSAGE_BYTES - 1) :]
            self._messages[_MESSAGE_BYTES * k : _MESSAGE_BYTES * k + len(report)] = report
            self._ints[_LINE * k + _FAILED] = 1
        finally:
            self._ints[_LINE * k + _STOPPED] = 1
            os._exit(status)

    def _prefetch(self, k, start):  # pragma: no cover - runs in the worker process
        """Gather this worker's rows of the batch that most likely comes next (the one
        starting at ``start``), while the parent ends its step: ``((start, stop),
        (X rows, Y rows))``, or ``(None, None)`` at the end of an epoch. A step on
        another batch (after one of zero weight, or in a new epoch) gathers anew."""
        n = self._order.size
        stop = min(start + self._batch_size, n)
        rows = self._part_rows(k, start, stop) if start < n else None
        return (None, None) if rows is None else ((start, stop), self._gather(rows))

    def _wait_parent(self, slot, value):  # pragma: no cover - runs in the worker process
        """Wait for the parent's counter ``slot`` to reach ``value``; False when the
        parent stops the run (or is gone)."""
        ints = self._ints
        return _wait(ints, slot, value, lambda: os.getppid() == self._parent, stop=_ABORT) and not ints[_ABORT]


def _wait(ints, slot, value, check, stop=None):
    """Spin until ``ints[slot] == value``, yielding the core at each turn; after
    :data:`_SPIN_SECONDS` nap between looks. Every 1024 turns ``check()`` may raise,
    or return False to give up (then False is returned), as may a non-zero
    ``ints[stop]`` at any turn."""
    spins, started, napping = 0, None, False
    while ints[slot] != value:
        if stop is not None and ints[stop]:
            return False
        if napping:
            time.sleep(_NAP_SECONDS)
        else:
            os.sched_yield()
        spins += 1
        if spins & 1023 == 0:
            if check() is False:
                return False
            now = time.monotonic()
            if started is None:
                started = now
            elif now - started > _SPIN_SECONDS:
                napping = True
    return True


def _reaped(pid):
    """Whether the child ``pid`` has exited (reaping it if so)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # reaped already
        return True
    return bool(done)


def _finite(estimator, X, ones):
    """Whether ``_check_finite_rows`` passes on ``X`` (without raising its error)."""
    try:
        estimator._check_finite_rows(X, ones)
    except ValueError:
        return False
    return True
