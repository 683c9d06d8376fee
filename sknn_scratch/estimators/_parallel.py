"""Training steps whose batch is split across threads (data parallelism on one machine).

NumPy runs element-wise operations on one core, and a convolutional network spends
most of its time in them (im2col copies, activations, pooling), so a multi-threaded
BLAS leaves the other cores mostly idle. :class:`SplitBatch` instead gives every
thread its own part of each mini-batch:

- the network is replicated once per extra thread; a replica *shares* the parameter
  arrays of the original (views into the same flat vector, so an optimizer step is
  seen by all) and owns its gradients (views into a flat vector of its own) and its
  activations and scratch buffers;
- each thread runs the forward pass, the output head and the backward pass on its
  part, the head dividing by the weight of the *whole* batch (``total_weight``), so
  that the parts' losses and gradients simply add up to those of the whole batch;
- BLAS is limited to one thread meanwhile (the parts already occupy the cores).

This is exact only for networks whose layers treat samples independently and draw
nothing at random (``Module._samplewise``); the estimators use it for those alone.
The sums are taken in a different order than on one thread, so results differ from a
single-threaded run by rounding (and are the same from run to run).
"""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np
from threadpoolctl import ThreadpoolController

from ..fpenv import flush_denormals
from ..optim.optimizers import memory_order, shaped_like_order

__all__ = ["SplitBatch", "blas_threads", "limit_blas_threads", "part_bounds"]

#: fewest samples in one part: smaller parts do not repay the cost of a thread
MIN_PART = 8


_BLAS = []


def _blas():
    """The loaded BLAS libraries (NumPy's and SciPy's), as a ``threadpoolctl``
    selection. Found once: finding them reads the process's list of loaded libraries
    (milliseconds), while asking or setting their thread counts takes microseconds."""
    if not _BLAS:
        _BLAS.append(ThreadpoolController().select(user_api="blas"))
    return _BLAS[0]


def blas_threads():
    """How many threads BLAS may use right now (as limited by ``threadpoolctl`` or by
    joblib in its workers); 1 when no BLAS library is loaded."""
    return max((info["num_threads"] for info in _blas().info()), default=1)


def limit_blas_threads(limit):
    """Limit BLAS to ``limit`` threads until the returned object's
    ``restore_original_limits()`` (as ``threadpoolctl.threadpool_limits``)."""
    return _blas().limit(limits=limit)


def part_bounds(n, n_parts):
    """Row bounds of ``n_parts`` near-equal parts of a batch of ``n`` rows (fewer parts
    if they would hold under :data:`MIN_PART` rows), or None when it does not split."""
    parts = min(n_parts, n // MIN_PART)
    return np.linspace(0, n, parts + 1).round().astype(int) if parts >= 2 else None


def _leaves(module):
    children = getattr(module, "modules", None)
    if isinstance(children, list):
        for child in children:
            yield from _leaves(child)
    else:
        yield module


def _replicate(net, grads):
    """A copy of ``net`` sharing its parameter arrays and with its gradients as views
    into a new vector shaped like ``grads`` (the flat vector behind ``net``'s
    gradients), returned with that vector."""
    memo = {}
    for module in _leaves(net):
        for name in module._parameters + module._gradients:
            value = getattr(module, name)
            memo[id(value)] = value  # shared for now; the gradients are rebound below
    replica = copy.deepcopy(net, memo)
    own = np.zeros_like(grads)
    base = grads.__array_interface__["data"][0]
    for original, twin in zip(_leaves(net), _leaves(replica), strict=True):
        for key in [k for k in vars(twin) if k.startswith("_cache")]:
            setattr(twin, key, None)
        twin.output = twin.gradInput = None
        for name in original._gradients:
            value = getattr(original, name)
            start = (value.__array_interface__["data"][0] - base) // value.itemsize
            setattr(twin, name, shaped_like_order(own[start : start + value.size], value.shape, memory_order(value)))
    return replica, own


class SplitBatch:
    """Runs the training pass of a batch in ``n_parts`` parts on as many threads.

    Use it as a context manager: it holds a thread pool and the BLAS thread limit.

    Parameters
    ----------
    net : Sequential
        The network, in training mode; part 0 runs on it, in the calling thread.
    head : Criterion
        The output head, with ``loss_and_grad(..., total_weight=...)``.
    grads : ndarray
        The flat vector behind ``net``'s gradients; after :meth:`loss_grad` it holds
        the gradient of the whole batch.
    n_parts : int
        Number of parts (and threads), at least 2.
    """

    def __init__(self, net, head, grads, n_parts):
        if n_parts < 2:
            raise ValueError(f"n_parts must be at least 2, got {n_parts}")
        self.n_parts = n_parts
        self._grads = grads
        self._workers = [(net, head, None)]
        for _ in range(n_parts - 1):
            replica, own = _replicate(net, grads)
            replica.train()
            self._workers.append((replica, copy.deepcopy(head), own))
        self._pool = None
        self._limits = None

    def __enter__(self):
        self._limits = limit_blas_threads(1)
        self._pool = ThreadPoolExecutor(max_workers=self.n_parts - 1, thread_name_prefix="sknn_scratch")
        return self

    def __exit__(self, *exc_info):
        try:
            self._pool.shutdown(wait=True)
        finally:
            self._limits.restore_original_limits()
            self._workers = self._workers[:1]  # drop the replicas and their buffers

    def _bounds(self, n):
        return part_bounds(n, self.n_parts)

    @staticmethod
    def _run(worker, X, Y, sample_weight, total_weight, accumulate):
        net, head, own = worker
        scores = net.forward(X)
        loss, grad = head.loss_and_grad(scores, Y, sample_weight, total_weight=total_weight)
        # a replica's own gradients are always set: only the sum over parts counts
        net.backward(X, grad, input_grad=False, accumulate=accumulate and own is None)
        return loss

    def loss_grad(self, X, Y, sample_weight, accumulate=True):
        """Loss of the batch ``(X, Y)`` (weighted mean), with its gradient added into
        ``grads`` (``accumulate=False``: written over ``grads``). Batches too small to
        split run whole in the calling thread."""
        n = X.shape[0]
        bounds = self._bounds(n)
        if bounds is None:
            return self._run(self._workers[0], X, Y, sample_weight, None, accumulate)
        total = float(n) if sample_weight is None else float(sample_weight.sum())

        def part(k):
            rows = slice(bounds[k], bounds[k + 1])
            weights = None if sample_weight is None else sample_weight[rows]
            return self._run(self._workers[k], X[rows], Y[rows], weights, total, accumulate)

        def in_worker(k):
            with flush_denormals():  # the mode is per thread: as in the caller's
                return part(k)

        futures = [self._pool.submit(in_worker, k) for k in range(1, len(bounds) - 1)]
        try:
            loss = part(0)
        finally:
            wait(futures)  # never leave a thread running on shared state
        for k, future in enumerate(futures, start=1):
            loss += future.result()
            self._grads += self._workers[k][2]
        return loss
