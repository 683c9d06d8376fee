"""Pooling: maxima and means over windows of images ``(N, C, H, W)`` and sequences
``(N, C, L)``, vectorised over samples, channels and positions.

With kernel ``k`` and stride ``s`` a spatial axis of size ``n`` gives
``floor((n - k) / s) + 1`` windows (PyTorch's rule); elements that no window covers get
a zero gradient.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _kernels
from .module import Module, check_int

__all__ = ["MaxPool2d", "AvgPool2d", "GlobalAvgPool2d", "AvgPool1d", "MaxPool1d"]


class MaxPool2d(Module):
    """Maximum over ``k x k`` windows of ``(N, C, H, W)`` input, per sample and channel.

    Parameters
    ----------
    kernel_size : int
        Side ``k`` of the square window.
    stride : int, optional
        Step between neighbouring windows; defaults to ``kernel_size`` (non-overlapping
        windows).
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
    and columns that do not fill a window are ignored and receive a zero gradient.

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

    def output_shape(self, sample_shape):
        """``(C, H_out, W_out)`` for samples of shape ``(C, H, W)``."""
        if len(sample_shape) != 3:
            raise ValueError(
                f"{self!r} takes samples of shape (channels, height, width), got samples of shape {tuple(sample_shape)}"
            )
        _, C, _, _, Ho, Wo = self._geometry((1, *sample_shape))
        return (C, Ho, Wo)

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


def _float(input):
    x = np.asarray(input)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


class _WindowPool(Module):
    """Pooling over windows of ``kernel_size`` along the last ``n_axes`` axes of
    ``(N, C, *spatial)`` input (``n_axes`` = 1 for sequences, 2 for images)."""

    n_axes = 1
    _layout = "(n_samples, channels, length)"

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size = check_int("kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else check_int("stride", stride, 1)

    def _out_sizes(self, spatial):
        k, s = self.kernel_size, self.stride
        if any(n < k for n in spatial):
            raise ValueError(f"{self!r}: the input's size {tuple(spatial)} is smaller than the window ({k})")
        return tuple((n - k) // s + 1 for n in spatial)

    def output_shape(self, sample_shape):
        """``(C, *out_sizes)`` for samples of shape ``(C, *sizes)``."""
        if len(sample_shape) != 1 + self.n_axes:
            raise ValueError(
                f"{self!r} takes samples of shape {self._layout.replace('n_samples, ', '')}, "
                f"got samples of shape {tuple(sample_shape)}"
            )
        return (sample_shape[0], *self._out_sizes(sample_shape[1:]))

    def _input(self, input):
        x = _float(input)
        if x.ndim != 2 + self.n_axes:
            raise ValueError(f"{self!r} expects input of shape {self._layout}, got {x.shape}")
        return x, self._out_sizes(x.shape[2:])

    def _offsets(self, out_sizes):
        """For every kernel offset, the index of the elements it takes from every window."""
        k, s = self.kernel_size, self.stride
        axes = [[slice(j, j + s * (n - 1) + 1, s) for j in range(k)] for n in out_sizes]
        if self.n_axes == 1:
            return [(Ellipsis, a) for a in axes[0]]
        return [(Ellipsis, a, b) for a in axes[0] for b in axes[1]]

    def _gradient(self, gradOutput, shape):
        g = np.asarray(gradOutput)
        if g.shape != shape:
            raise ValueError(f"{self!r}: gradOutput must have shape {shape}, got {g.shape}")
        return g

    def extra_repr(self):
        s = f"kernel_size={self.kernel_size}"
        return s + (f", stride={self.stride}" if self.stride != self.kernel_size else "")


class _AvgPool(_WindowPool):
    """Mean over windows: the sum of the elements each kernel offset takes, divided by
    the window's size; each window passes ``g / size`` back to each of its elements."""

    def updateOutput(self, input):
        x, out_sizes = self._input(input)
        offsets = self._offsets(out_sizes)
        out = x[offsets[0]].copy()
        for index in offsets[1:]:
            out += x[index]
        out *= 1 / len(offsets)
        self.output = out
        return out

    def updateGradInput(self, input, gradOutput):
        x, out_sizes = self._input(input)
        g = self._gradient(gradOutput, (*x.shape[:2], *out_sizes)).astype(x.dtype, copy=False)
        offsets = self._offsets(out_sizes)
        share = g * (1 / len(offsets))
        grad = np.zeros_like(x)
        for index in offsets:
            grad[index] += share
        self.gradInput = grad
        return grad


class AvgPool1d(_AvgPool):
    """Mean over windows of ``kernel_size`` elements of sequences ``(N, C, L)``.

    .. math::

        y[n, c, t] = \\frac{1}{k} \\sum_{j < k} x[n, c, t s + j], \\qquad
        \\frac{\\partial L}{\\partial x[n, c, t s + j]} \\mathrel{+}= \\frac{g[n, c, t]}{k}.

    Parameters
    ----------
    kernel_size : int
    stride : int, optional
        Defaults to ``kernel_size``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import AvgPool1d
    >>> AvgPool1d(2).forward(np.arange(6.0).reshape(1, 1, 6))
    array([[[0.5, 2.5, 4.5]]])
    """


class AvgPool2d(_AvgPool):
    """Mean over ``k x k`` windows of images ``(N, C, H, W)``, per sample and channel.

    .. math::

        y[n, c, h, w] = \\frac{1}{k^2} \\sum_{i, j < k} x[n, c, h s + i, w s + j],

    and each window passes ``g / k^2`` to each of its elements.

    Parameters
    ----------
    kernel_size : int
        Side ``k`` of the square window.
    stride : int, optional
        Defaults to ``kernel_size``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import AvgPool2d
    >>> AvgPool2d(2).forward(np.arange(16.0).reshape(1, 1, 4, 4))
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    """

    n_axes = 2
    _layout = "(n_samples, channels, height, width)"


class MaxPool1d(_WindowPool):
    """Maximum over windows of ``kernel_size`` elements of sequences ``(N, C, L)``.

    .. math::

        y[n, c, t] = \\max_{j < k} x[n, c, t s + j],

    and the gradient of each window goes to its first maximum (a NaN counts as the
    maximum, as in PyTorch).

    Parameters
    ----------
    kernel_size : int
    stride : int, optional
        Defaults to ``kernel_size``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import MaxPool1d
    >>> MaxPool1d(2).forward(np.array([[[1.0, 3.0, 2.0, 0.0]]]))
    array([[[3., 2.]]])
    """

    def _windows(self, x, length_out):
        sN, sC, sL = x.strides
        shape, strides = (*x.shape[:2], length_out, self.kernel_size), (sN, sC, self.stride * sL, sL)
        return as_strided(x, shape, strides, writeable=False)

    def updateOutput(self, input):
        x, (length_out,) = self._input(input)
        self.output = self._windows(x, length_out).max(axis=3)
        return self.output

    def updateGradInput(self, input, gradOutput):
        x, (length_out,) = self._input(input)
        g = self._gradient(gradOutput, (*x.shape[:2], length_out)).astype(x.dtype, copy=False)
        first = self._windows(x, length_out).argmax(axis=3)  # the first maximum of each window
        grad = np.zeros_like(x)
        for j, index in enumerate(self._offsets((length_out,))):
            target = grad[index]
            np.add(target, g, out=target, where=first == j)  # a masked addition: no inf * 0
        self.gradInput = grad
        return grad


class GlobalAvgPool2d(Module):
    """Mean of each channel over the whole image: ``(N, C, H, W) -> (N, C)``.

    .. math::

        y[n, c] = \\frac{1}{H W} \\sum_{h, w} x[n, c, h, w], \\qquad
        \\frac{\\partial L}{\\partial x[n, c, h, w]} = \\frac{g[n, c]}{H W}.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import GlobalAvgPool2d
    >>> GlobalAvgPool2d().forward(np.arange(8.0).reshape(1, 2, 2, 2))
    array([[1.5, 5.5]])
    """

    def output_shape(self, sample_shape):
        """``(C,)`` for samples of shape ``(C, H, W)``."""
        if len(sample_shape) != 3 or 0 in sample_shape[1:]:
            raise ValueError(
                f"{self!r} takes samples of shape (channels, height, width), got samples of shape {tuple(sample_shape)}"
            )
        return (sample_shape[0],)

    def _input(self, input):
        x = _float(input)
        if x.ndim != 4 or 0 in x.shape[2:]:
            raise ValueError(f"{self!r} expects input of shape (n_samples, channels, height, width), got {x.shape}")
        return x

    def updateOutput(self, input):
        self.output = self._input(input).mean(axis=(2, 3))
        return self.output

    def updateGradInput(self, input, gradOutput):
        x = self._input(input)
        g = np.asarray(gradOutput, dtype=x.dtype)
        if g.shape != x.shape[:2]:
            raise ValueError(f"{self!r}: gradOutput must have shape {x.shape[:2]}, got {g.shape}")
        grad = np.empty_like(x)
        grad[...] = (g * (1 / (x.shape[2] * x.shape[3])))[:, :, None, None]
        self.gradInput = grad
        return grad
