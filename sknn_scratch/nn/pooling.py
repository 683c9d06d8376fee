"""Two-dimensional max pooling, vectorised over samples, channels and positions."""

from __future__ import annotations

import numpy as np

from . import _kernels
from .module import Module, check_int

__all__ = ["MaxPool2d"]


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
    of the window in row-major order, so ties never duplicate the gradient. A NaN in a
    window makes its output NaN (the gradient then goes to the largest value before
    the NaN).

    The array work (a strided copy of the windows and ``k*k`` comparisons, block by
    block of samples; the gradient written one kernel offset at a time) is in
    :mod:`sknn_scratch.nn._kernels`.

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

    _transient = (*Module._transient, "_cache_input", "_cache_argmax", "_cache_work")

    def __init__(self, kernel_size, *, stride=None, padding=0):
        super().__init__()
        self.kernel_size = check_int("kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else check_int("stride", stride, 1)
        self.padding = check_int("padding", padding, 0)
        if self.padding > self.kernel_size // 2:
            raise ValueError(
                f"padding must be at most kernel_size // 2 = {self.kernel_size // 2}, got padding={self.padding}"
            )
        self._cache_input = self._cache_argmax = self._cache_work = None

    def _geometry(self, shape):
        if len(shape) != 4:
            raise ValueError(
                f"{self!r} expects input of shape (n_samples, channels, height, width), got {tuple(shape)}"
            )
        N, C, H, W = shape
        if H == 0 or W == 0:
            raise ValueError(f"{self!r}: the images are empty (height {H}, width {W}); a window needs one element")
        k, s, p = self.kernel_size, self.stride, self.padding
        Hp, Wp = H + 2 * p, W + 2 * p
        if Hp < k or Wp < k:
            raise ValueError(
                f"{self!r}: the padded input ({Hp}, {Wp}) (input ({H}, {W}) with padding {p}) "
                f"is smaller than the kernel ({k}, {k})"
            )
        return N, C, H, W, (Hp - k) // s + 1, (Wp - k) // s + 1

    def _work(self):
        """This module's scratch arrays (see :mod:`._kernels`), reused from batch to batch."""
        if self._cache_work is None:
            self._cache_work = {}
        return self._cache_work

    def _padded(self, x, shape):
        """``x`` with ``-inf`` borders of ``padding`` (padding never wins a maximum)."""
        p = self.padding
        if not p:
            return x
        xp = np.full((shape[0], shape[1], shape[2] + 2 * p, shape[3] + 2 * p), -np.inf, dtype=x.dtype)
        xp[:, :, p : p + shape[2], p : p + shape[3]] = x
        return xp

    def updateOutput(self, input):
        x = np.asarray(input)
        shape = self._geometry(x.shape)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        # y[n, c, h, w] = max over the window (h s .. h s + k - 1, w s .. w s + k - 1)
        out, argmax = _kernels.pool_max(
            self._padded(x, shape), self.kernel_size, self.stride, shape[4:], self.training, self._work()
        )
        self._cache_input, self._cache_argmax = (input, argmax) if self.training else (None, None)
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
        xp = self._padded(x, shape)
        argmax = self._cache_argmax if input is self._cache_input else None
        if argmax is None:  # not the forward input: find its maxima
            argmax = _kernels.pool_max(xp, self.kernel_size, self.stride, (Ho, Wo), True, self._work())[1]
        # each window's gradient goes to its (first) maximum
        gxp = _kernels.pool_scatter(gradOutput, argmax, xp.shape, self.kernel_size, self.stride, self._work())
        p = self.padding
        self.gradInput = np.ascontiguousarray(gxp[:, :, p : p + H, p : p + W]) if p else gxp
        return self.gradInput

    def extra_repr(self):
        s = f"kernel_size={self.kernel_size}"
        if self.stride != self.kernel_size:
            s += f", stride={self.stride}"
        if self.padding:
            s += f", padding={self.padding}"
        return s
