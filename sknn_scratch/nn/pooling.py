"""Two-dimensional max pooling."""

from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .module import Module

__all__ = ["MaxPool2d"]


def _positive_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"MaxPool2d {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class MaxPool2d(Module):
    """Maximum over ``kernel_size x kernel_size`` windows of ``(N, C, H, W)`` input.

    Output size per spatial axis: ``floor((H + 2 * padding - kernel_size) / stride) + 1``.
    Sizes that do not divide are *floored*, as in PyTorch: trailing rows and columns that
    do not fill a window are ignored and get a zero gradient. Padding is with ``-inf``.
    The gradient of each window goes to exactly one element, its first maximum.

    Parameters
    ----------
    kernel_size : int
    stride : int, default=None
        Defaults to ``kernel_size`` (non-overlapping windows, the seed notebook's case).
    padding : int, default=0
        Must be at most ``kernel_size // 2``.
    """

    def __init__(self, kernel_size, *, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _positive_int("kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else _positive_int("stride", stride)
        self.padding = _positive_int("padding", padding, minimum=0)
        if self.padding > self.kernel_size // 2:
            raise ValueError(
                f"MaxPool2d padding must be at most kernel_size // 2, got {padding} for kernel {kernel_size}"
            )
        self._cache_arg = None

    def _windows(self, input):
        """View of the windows, shaped (N, C, Ho, Wo, k*k) (a copy when needed)."""
        if input.ndim != 4:
            raise ValueError(f"MaxPool2d expects 4-D input (N, C, H, W), got shape {input.shape}")
        k, s, p = self.kernel_size, self.stride, self.padding
        if p:
            input = np.pad(input, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
        n, c, h, w = input.shape
        if h < k or w < k:
            raise ValueError(f"MaxPool2d kernel {k} is larger than the (padded) input of spatial size {(h, w)}")
        ho, wo = (h - k) // s + 1, (w - k) // s + 1
        if s == k:  # non-overlapping: a reshape of the cropped input
            cropped = input[:, :, : ho * k, : wo * k]
            win = cropped.reshape(n, c, ho, k, wo, k).transpose(0, 1, 2, 4, 3, 5)
        else:
            win = sliding_window_view(input, (k, k), axis=(2, 3))[:, :, ::s, ::s]
        return win.reshape(n, c, ho, wo, k * k), (ho, wo)

    def updateOutput(self, input):
        win, _ = self._windows(input)
        arg = win.argmax(axis=-1)
        self._cache_arg = arg
        self.output = np.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
        return self.output

    def updateGradInput(self, input, gradOutput):
        k, s, p = self.kernel_size, self.stride, self.padding
        n, c, h, w = input.shape
        ho, wo = gradOutput.shape[2:]
        arg = self._cache_arg
        if arg is None or arg.shape != gradOutput.shape:
            arg = self._windows(input)[0].argmax(axis=-1)
        grad = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=gradOutput.dtype)
        if s == k:
            win = np.zeros((n, c, ho, wo, k * k), dtype=gradOutput.dtype)
            np.put_along_axis(win, arg[..., None], gradOutput[..., None], axis=-1)
            grad[:, :, : ho * k, : wo * k] = (
                win.reshape(n, c, ho, wo, k, k).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, ho * k, wo * k)
            )
        else:
            # overlapping windows: add each kernel offset's share, one strided slice at a time
            for offset in range(k * k):
                i, j = divmod(offset, k)
                grad[:, :, i : i + s * ho : s, j : j + s * wo : s] += np.where(arg == offset, gradOutput, 0)
        self.gradInput = grad[:, :, p : p + h, p : p + w] if p else grad
        return self.gradInput

    def extra_repr(self):
        extra = f", stride={self.stride}" if self.stride != self.kernel_size else ""
        return f"{self.kernel_size}{extra}" + (f", padding={self.padding}" if self.padding else "")
