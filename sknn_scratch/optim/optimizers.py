"""Optimizer classes and the in-place update kernels they share with the functional API."""

from __future__ import annotations

import math
import threading

import numpy as np

__all__ = [
    "sgd_step",
    "adam_step",
    "adam_step_scaled",
    "adam_lr",
    "aligned_zeros",
    "Optimizer",
    "SGD",
    "Adam",
    "flatten_pairs",
]

#: bytes of each array an update kernel works on at a time: the few arrays of one chunk
#: stay in the core's cache across the kernel's passes instead of streaming from memory
#: once per pass
CHUNK_BYTES = 1 << 18

#: alignment of the optimizer's buffers: whole vector registers, and cache lines
ALIGNMENT = 64


def aligned_zeros(shape, dtype, order="C"):
    """A zeroed contiguous array (``order`` "C" or "F") whose data starts on an
    :data:`ALIGNMENT` boundary.

    ``np.zeros`` of a large array usually starts 16 bytes into a page, so vector loads
    straddle cache lines; element-wise passes over aligned buffers run ~10 % faster.
    """
    dtype = np.dtype(dtype)
    size = int(np.prod(shape, dtype=np.int64))
    raw = np.zeros(size * dtype.itemsize + ALIGNMENT, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return shaped_like_order(raw[start : start + size * dtype.itemsize].view(dtype), shape, order)


def shaped_like_order(flat, shape, order="C"):
    """The 1-D contiguous ``flat`` as an array of ``shape`` laid out in ``order``
    (a view)."""
    if order == "F":
        return flat.reshape(tuple(shape)[::-1]).T
    return flat.reshape(shape)


def memory_order(array):
    """The layout of ``array``: ``"F"`` when it is Fortran- but not C-contiguous, else ``"C"``."""
    return "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"


def _in_chunks(kernel, arrays, *args, norm=False):
    """Run ``kernel(*chunks, scratch, *args)`` over successive :data:`CHUNK_BYTES`
    slices of the same-shaped ``arrays`` in memory order (whole when they are not all
    contiguous in the same order); ``scratch`` is a work array shaped like the slice,
    one small buffer per thread reused for every slice (a whole-size scratch array
    would stream through the cache for nothing).

    ``arrays[0]`` is the parameter. With ``norm`` the sum of squares of the parameter
    before the kernel is returned (summed over the slices in float64), else 0.0.
    """
    order = memory_order(arrays[0])
    contiguous = "C_CONTIGUOUS" if order == "C" else "F_CONTIGUOUS"
    flat = [a.ravel(order="K") if a.flags[contiguous] else None for a in arrays]
    n = arrays[0].size
    step = max(CHUNK_BYTES // arrays[0].itemsize, 1)
    if any(a is None for a in flat) or n <= step:
        scratch = _scratch(arrays[0].dtype, n).reshape(arrays[0].shape)
        return _run_chunk(kernel, (*arrays, scratch), args, norm)
    buffer = _scratch(arrays[0].dtype, step)
    total = 0.0
    for start in range(0, n, step):
        chunks = [a[start : start + step] for a in flat]
        scratch = buffer[: chunks[0].size]
        total += _run_chunk(kernel, (*chunks, scratch), args, norm)
    return total


_SCRATCH = threading.local()


def _scratch(dtype, n):
    """This thread's work buffer of ``dtype``, at least ``n`` elements long (the first
    ``n`` returned)."""
    buffers = getattr(_SCRATCH, "buffers", None)
    if buffers is None:
        buffers = _SCRATCH.buffers = {}
    buffer = buffers.get(dtype)
    if buffer is None or buffer.size < n:
        buffer = buffers[dtype] = aligned_zeros(max(n, CHUNK_BYTES // dtype.itemsize), dtype)
    return buffer[:n]


def _run_chunk(kernel, arrays, args, norm):
    var = arrays[0]
    squares = 0.0
    if norm:
        flat = var.ravel(order="K")
        squares = float(flat @ flat)
    kernel(*arrays, *args)
    return squares


def _add_decay(var, grad, decay, scratch):
    """``grad += decay * var`` (the gradient of the L2 term ``decay/2 * ||var||**2``),
    through ``scratch``."""
    np.multiply(var, decay, out=scratch)
    grad += scratch


def sgd_step(var, grad, velocity, learning_rate, momentum, nesterov=False, weight_decay=0.0, scratch=None):
    """One SGD-with-momentum update, in place.

    ``velocity = momentum * velocity + learning_rate * grad`` and ``var -= velocity``
    (with Nesterov: ``var -= momentum * velocity + learning_rate * grad``). This is the
    seed notebook's code; it equals scikit-learn's MLP update with the velocity's sign
    flipped. (The notebook's text writes ``v = beta v + (1 - beta) g``; its code, kept
    here, scales the gradient by the learning rate instead.) A non-zero
    ``weight_decay`` first adds ``weight_decay * var`` to ``grad`` (in place).
    ``scratch`` (shaped like ``var``) avoids temporaries when given.
    """
    momentum = float(momentum)  # a NumPy float64 scalar would compute float32 arrays in float64
    step = np.empty_like(var) if scratch is None else scratch
    if weight_decay:
        _add_decay(var, grad, float(weight_decay), step)
    velocity *= momentum
    np.multiply(grad, float(learning_rate), out=step)
    velocity += step
    if nesterov:
        step += momentum * velocity
        var -= step
    else:
        var -= velocity


def adam_lr(learning_rate, beta1, beta2, t):
    """Adam's bias-corrected step size ``lr * sqrt(1 - beta2**t) / (1 - beta1**t)``, a Python float."""
    return float(learning_rate) * math.sqrt(1 - beta2**t) / (1 - beta1**t)


def _adam_update(var, m, v, scratch, step, epsilon):
    """``var -= step * m / (sqrt(v) + epsilon)``, through ``scratch``: the update shared
    by both Adam kernels."""
    np.sqrt(v, out=scratch)
    scratch += epsilon
    np.divide(m, scratch, out=scratch)
    scratch *= step
    var -= scratch


def adam_step(var, grad, m, v, lr_t, beta1, beta2, epsilon, scratch=None):
    """One Adam update, in place, given the bias-corrected step ``lr_t``.

    ``m = beta1 m + (1 - beta1) g``; ``v = beta2 v + (1 - beta2) g**2``;
    ``var -= lr_t * m / (sqrt(v) + epsilon)``. ``scratch`` (shaped like ``var``) avoids
    temporaries when given.
    """
    beta1, beta2, lr_t, epsilon = float(beta1), float(beta2), float(lr_t), float(epsilon)
    tmp = np.empty_like(var) if scratch is None else scratch
    m *= beta1
    np.multiply(grad, 1 - beta1, out=tmp)
    m += tmp
    v *= beta2
    np.multiply(grad, grad, out=tmp)
    tmp *= 1 - beta2
    v += tmp
    _adam_update(var, m, v, tmp, lr_t, epsilon)


def adam_step_scaled(var, grad, M, V, scratch, factor, beta1, beta2, epsilon_scaled, weight_decay=0.0):
    """:func:`adam_step` on moments kept in units that save two passes over the data.

    With ``M = m / (1 - beta1)`` and ``V = v / (1 - beta2)`` the moment updates lose a
    multiplication each (``M = beta1 M + g``, ``V = beta2 V + g**2``), and the update
    ``lr_t m / (sqrt(v) + eps)`` becomes ``factor * M / (sqrt(V) + epsilon_scaled)``
    with ``factor = lr_t (1 - beta1) / sqrt(1 - beta2)`` and ``epsilon_scaled = eps /
    sqrt(1 - beta2)``: the same step, in ten passes instead of twelve. A non-zero
    ``weight_decay`` first adds ``weight_decay * var`` to ``grad`` (in place).
    """
    factor, beta1, beta2, epsilon_scaled = float(factor), float(beta1), float(beta2), float(epsilon_scaled)
    if weight_decay:
        _add_decay(var, grad, float(weight_decay), scratch)
    M *= beta1
    M += grad
    V *= beta2
    np.multiply(grad, grad, out=scratch)
    V += scratch
    _adam_update(var, M, V, scratch, factor, epsilon_scaled)


def _sgd_kernel(var, grad, velocity, scratch, learning_rate, momentum, nesterov, weight_decay):
    sgd_step(var, grad, velocity, learning_rate, momentum, nesterov, weight_decay, scratch)


def _weight_decays(weight_decay, n):
    """``weight_decay`` as one float per parameter (validated before any update)."""
    values = [weight_decay] * n if np.ndim(weight_decay) == 0 else list(weight_decay)
    if len(values) != n:
        raise ValueError(f"weight_decay has {len(values)} values for {n} parameters")
    values = [float(v) for v in values]
    if not all(np.isfinite(v) and v >= 0 for v in values):
        raise ValueError(f"weight_decay must be finite and non-negative, got {weight_decay!r}")
    return values


def flatten_pairs(variables, gradients):
    """Pair parameters with gradients, flattening the notebook's nested lists."""
    out = []
    for var, grad in zip(variables, gradients, strict=True):
        if isinstance(var, (list, tuple)):
            out.extend(flatten_pairs(var, grad))
        else:
            if var.shape != grad.shape:
                raise ValueError(f"parameter of shape {var.shape} has a gradient of shape {grad.shape}")
            out.append((var, grad))
    return out


class Optimizer:
    """Base class: ``step(params, grads)`` updates every parameter array in place.

    ``params`` and ``grads`` are aligned lists (flat, or nested per module as
    ``Sequential.getParameters()`` returns them). State is kept per position in the
    flattened list and reset by :meth:`reset`.
    """

    #: names of the per-parameter state arrays carried from one step to the next
    _carried = ()

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate
        self.state = {}

    def reset(self):
        """Forget the accumulated state (moments, step count)."""
        self.state = {}

    def step(self, params, grads, weight_decay=0.0):
        """Update ``params`` in place from ``grads``; return the L2 term.

        Parameters
        ----------
        params, grads : lists of ndarrays
            Aligned, flat or nested (as ``Sequential.getParameters()`` returns them).
        weight_decay : float or sequence of floats, default=0.0
            Coefficient of an L2 term ``weight_decay/2 * ||param||**2`` whose gradient
            ``weight_decay * param`` is added to ``grads`` (in place) before the
            update: one value for every parameter, or one per parameter in the
            flattened order. Cheaper than adding it beforehand: the update reads the
            parameter anyway.

        Returns
        -------
        penalty : float
            The L2 term ``sum(weight_decay/2 * ||param||**2)`` of the parameters as
            they were before the update (0.0 without ``weight_decay``): a training
            loss needs it, and the update reads the parameters anyway.
        """
        pairs = flatten_pairs(params, grads)
        decays = _weight_decays(weight_decay, len(pairs))
        for index, (var, _) in enumerate(pairs):
            if not var.flags.writeable:
                raise ValueError(
                    f"parameter {index} is read-only (e.g. loaded from a memory map); copy it before training"
                )
        self._begin_step()
        penalty = 0.0
        for index, ((var, grad), decay) in enumerate(zip(pairs, decays, strict=True)):
            squares = self._update(index, var, grad, decay)
            penalty += 0.5 * decay * squares
        return penalty

    def _slot(self, name, index, like):
        slots = self.state.setdefault(name, {})
        buf = slots.get(index)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = slots[index] = aligned_zeros(like.shape, like.dtype, memory_order(like))
        elif not buf.flags.writeable:  # e.g. state loaded from a read-only memory map
            buf = slots[index] = buf.copy()
        return buf

    def _begin_step(self):
        pass

    def _update(self, index, var, grad, weight_decay):
        """Update parameter ``index``; return ``sum(var**2)`` before the update when ``weight_decay`` is non-zero."""
        raise NotImplementedError

    def _hyperparameters(self):
        """The public settings (a schedule may change them between epochs)."""
        return {key: value for key, value in vars(self).items() if key != "state" and not key.startswith("_")}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "state" and not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

    Parameters
    ----------
    learning_rate : float, default=0.01
    momentum : float, default=0.0
    nesterov : bool, default=False
    """

    _carried = ("velocity",)

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        super().__init__(learning_rate)
        self.momentum = momentum
        self.nesterov = nesterov

    def _update(self, index, var, grad, weight_decay):
        velocity = self._slot("velocity", index, var)
        args = (self.learning_rate, self.momentum, self.nesterov, weight_decay)
        return _in_chunks(_sgd_kernel, (var, grad, velocity), *args, norm=bool(weight_decay))


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015).

    Parameters
    ----------
    learning_rate : float, default=1e-3
    beta_1, beta_2 : float, default=0.9, 0.999
    epsilon : float, default=1e-8

    Notes
    -----
    The step is scikit-learn's: ``var -= lr_t * m / (sqrt(v) + epsilon)`` with the
    bias-corrected ``lr_t`` of :func:`adam_lr`. To save passes over the parameters the
    state keeps the moments as ``state["m"] = m / (1 - beta_1)`` and ``state["v"] =
    v / (1 - beta_2)`` (see :func:`adam_step_scaled`); changing ``beta_1`` or ``beta_2``
    between steps rescales them.
    """

    _carried = ("m", "v")

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        super().__init__(learning_rate)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    @property
    def t(self):
        """Number of steps taken."""
        return self.state.get("t", 0)

    def _begin_step(self):
        b1, b2 = self.beta_1, self.beta_2
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"beta_1 and beta_2 must be in [0, 1), got beta_1={b1!r}, beta_2={b2!r}")
        previous = self.state.get("betas", (b1, b2))
        if previous != (b1, b2):  # moments kept in the units of other betas
            for name, old, new in (("m", previous[0], b1), ("v", previous[1], b2)):
                for buf in self.state.get(name, {}).values():
                    buf *= (1 - old) / (1 - new)
        self.state["betas"] = (b1, b2)
        self.state["t"] = t = self.t + 1
        root = math.sqrt(1 - b2)
        self._factor = adam_lr(self.learning_rate, b1, b2, t) * (1 - b1) / root
        self._epsilon_scaled = self.epsilon / root

    def _update(self, index, var, grad, weight_decay):
        M = self._slot("m", index, var)
        V = self._slot("v", index, var)
        b1, b2 = self.state["betas"]
        args = (self._factor, b1, b2, self._epsilon_scaled, weight_decay)
        return _in_chunks(adam_step_scaled, (var, grad, M, V), *args, norm=bool(weight_decay))
