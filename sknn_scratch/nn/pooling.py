"""Two-dimensional max pooling, vectorised over samples, channels and positions."""

from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .module import Module

__all__ = ["MaxPool2d"]


def _as_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class MaxPool2d(Module):
    """Maximum over ``k x k`` windows of ``(N, C, H, W)`` input, per sample and channel.

    Parameters
    ----------
    kernel_size : int
        Side ``k`` of the square window.
    stride : int, optional
        Step between neighbouring windows; defaults to ``kernel_size`` (non-overlapping
        windows, the seed notebook's only mode).
    padding : int, default=0
        ``-inf`` added on each side of both spatial axes (so padding never wins a
        maximum). At most ``kernel_size // 2``, as in PyTorch.

    Attributes
    ----------
    kernel_size, stride, padding : int

    Notes
    -----
    The output has ``floor((H + 2 * padding - k) / stride) + 1`` rows (likewise columns),
    like PyTorch's ``MaxPool2d``: when the sizes do not divide, the trailing input rows
    and columns that do not fill a window are ignored and receive a zero gradient (the
    seed notebook asserted divisibility instead).

    The gradient of each window goes to exactly one input element: the first maximum
    of the window in row-major order (as ``numpy.argmax`` picks it), so ties never
    duplicate the gradient. A NaN in a window makes its output NaN.

    Implementation: the windows are gathered with one strided copy into a
    ``(k*k, windows)`` array; the maxima and the offsets of the first maxima come from
    ``k*k`` whole-array comparisons (the offsets are only computed and kept in training
    mode), and the gradient is scattered back with one vectorised product per kernel
    offset. There is no Python loop over samples, channels or positions.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn.pooling import MaxPool2d
    >>> MaxPool2d(2).forward(np.arange(16.0).reshape(1, 1, 4, 4))
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    >>> MaxPool2d(2).forward(np.zeros((1, 1, 5, 5))).shape  # floor: the 5th row/column is ignored
    (1, 1, 2, 2)
    """

    def __init__(self, kernel_size, *, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _as_int("kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else _as_int("stride", stride, 1)
        self.padding = _as_int("padding", padding, 0)
        if self.padding > self.kernel_size // 2:
            raise ValueError(
                f"padding must be at most kernel_size // 2 = {self.kernel_size // 2}, got padding={self.padding}"
            )
        self._cache_input = None
        self._cache_argmax = None
        self._cache_corners = None

    def _geometry(self, shape):
        if len(shape) != 4:
            raise ValueError(
                f"{self!r} expects input of shape (n_samples, channels, height, width), got {tuple(shape)}"
            )
        N, C, H, W = shape
        k, s, p = self.kernel_size, self.stride, self.padding
        Hp, Wp = H + 2 * p, W + 2 * p
        if Hp < k or Wp < k:
            raise ValueError(
                f"{self!r}: the padded input ({Hp}, {Wp}) (input ({H}, {W}) with padding {p}) "
                f"is smaller than the kernel ({k}, {k})"
            )
        return N, C, H, W, (Hp - k) // s + 1, (Wp - k) // s + 1

    def _windows(self, xp, shape):
        """Strided view ``(k, k, N, C, Ho, Wo)`` of the windows of the padded array ``xp``:
        entry ``[i, j, n, c, h, w]`` is ``xp[n, c, h * stride + i, w * stride + j]``."""
        N, C, _, _, Ho, Wo = shape
        k, s = self.kernel_size, self.stride
        sN, sC, sH, sW = xp.strides
        return as_strided(xp, shape=(k, k, N, C, Ho, Wo), strides=(sH, sW, sN, sC, s * sH, s * sW), writeable=False)

    def _pool(self, x, shape, *, with_argmax=True):
        """The maxima ``(N, C, Ho, Wo)`` and (``with_argmax``) the flat kernel offset
        ``i * k + j`` of the first maximum of every window, shaped ``(N, C, Ho, Wo)``."""
        N, C, H, W, Ho, Wo = shape
        k, p = self.kernel_size, self.padding
        if p:
            xp = np.full((N, C, H + 2 * p, W + 2 * p), -np.inf, dtype=x.dtype)
            xp[:, :, p : p + H, p : p + W] = x
        else:
            xp = x
        kk = k * k
        slab = np.ascontiguousarray(self._windows(xp, shape)).reshape(kk, N * C * Ho * Wo)
        if kk == 1:
            out = slab[0].reshape(N, C, Ho, Wo).copy()  # never a view of the input
            return out, (np.zeros(out.shape, dtype=np.uint8) if with_argmax else None)
        index_dtype = np.uint8 if kk <= 256 else np.int32
        greater = np.greater(slab[1], slab[0])
        out = np.maximum(slab[0], slab[1])
        if not with_argmax:
            for t in range(2, kk):
                np.maximum(out, slab[t], out=out)
            return out.reshape(N, C, Ho, Wo), None
        argmax = greater.astype(index_dtype)
        offset = np.empty(out.shape, dtype=index_dtype)
        for t in range(2, kk):
            # offsets are visited in increasing order, so a strictly greater value always
            # carries a larger offset than the current one: max() records it
            np.greater(slab[t], out, out=greater)
            np.maximum(out, slab[t], out=out)
            np.multiply(greater, index_dtype(t), out=offset)
            np.maximum(argmax, offset, out=argmax)
        return out.reshape(N, C, Ho, Wo), argmax.reshape(N, C, Ho, Wo)

    def _max_positions(self, argmax, padded_shape, Ho, Wo):
        """Flat index into the padded input ``padded_shape`` of each window's maximum:
        the window's first element (kept from batch to batch while the shapes match)
        plus the offset ``i * Wp + j`` of kernel entry ``argmax = i * k + j``."""
        N, C, Hp, Wp = padded_shape
        k, s = self.kernel_size, self.stride
        key = (padded_shape, Ho, Wo)
        cached = getattr(self, "_cache_corners", None)  # absent from models pickled before it existed
        if cached is None or cached[0] != key:
            rows = (np.arange(N * C).reshape(-1, 1, 1) * Hp + s * np.arange(Ho).reshape(1, -1, 1)) * Wp
            corners = (rows + s * np.arange(Wo)).reshape(N, C, Ho, Wo)
            offsets = (np.arange(k).reshape(-1, 1) * Wp + np.arange(k)).reshape(-1)
            cached = self._cache_corners = (key, corners.astype(np.intp), offsets.astype(np.intp))
        _, corners, offsets = cached
        return np.add(corners, np.take(offsets, argmax))

    def updateOutput(self, input):
        x = np.asarray(input)
        shape = self._geometry(x.shape)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        out, argmax = self._pool(x, shape, with_argmax=self.training)
        if self.training:
            self._cache_input, self._cache_argmax = input, argmax
        else:
            self._cache_input = self._cache_argmax = None
        self.output = out
        return out

    def updateGradInput(self, input, gradOutput):
        x = np.asarray(input)
        shape = self._geometry(x.shape)
        N, C, H, W, Ho, Wo = shape
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        gradOutput = np.asarray(gradOutput, dtype=x.dtype)
        if gradOutput.shape != (N, C, Ho, Wo):
            raise ValueError(f"{self!r}: gradOutput must have shape {(N, C, Ho, Wo)}, got {gradOutput.shape}")
        argmax = self._cache_argmax
        if input is not self._cache_input or argmax is None:  # not the forward input: recompute
            argmax = self._pool(x, shape)[1]
        k, s, p = self.kernel_size, self.stride, self.padding
        gxp = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=x.dtype)
        if s >= k:  # windows do not overlap: each maximum's input element gets one value
            gxp.reshape(-1)[self._max_positions(argmax, gxp.shape, Ho, Wo).reshape(-1)] = gradOutput.reshape(-1)
        else:
            sN, sC, sH, sW = gxp.strides
            # view[i, j, n, c, h, w] is gxp[n, c, h * s + i, w * s + j]; distinct elements for fixed (i, j)
            view = as_strided(gxp, shape=(k, k, N, C, Ho, Wo), strides=(sH, sW, sN, sC, s * sH, s * sW))
            for i in range(k):
                for j in range(k):
                    view[i, j] += gradOutput * (argmax == i * k + j)
        if p:
            gxp = np.ascontiguousarray(gxp[:, :, p : p + H, p : p + W])
        self.gradInput = gxp
        return gxp

    def extra_repr(self):
        s = f"kernel_size={self.kernel_size}"
        if self.stride != self.kernel_size:
            s += f", stride={self.stride}"
        if self.padding:
            s += f", padding={self.padding}"
        return s
