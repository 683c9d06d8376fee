"""One-dimensional convolution of sequences ``(N, C, L)``.

As :class:`~sknn_scratch.nn.Conv2d` (and PyTorch's ``Conv1d``) the layer computes a
cross-correlation. For input ``x`` of shape ``(N, C, L)`` zero-padded by ``p`` on both
ends to ``xp``, kernel ``W`` of shape ``(O, C, k)`` and stride ``s``:

.. math::

    y[n, o, t] = b[o] + \\sum_{c, j} W[o, c, j] \\, xp[n, c, t s + j],
    \\qquad t = 0, \\ldots, L_{out} - 1, \\quad L_{out} = \\lfloor (L + 2p - k) / s \\rfloor + 1.

With ``g = dL/dy``:

.. math::

    \\frac{\\partial L}{\\partial W[o, c, j]} = \\sum_{n, t} g[n, o, t] \\, xp[n, c, t s + j], \\qquad
    \\frac{\\partial L}{\\partial b[o]} = \\sum_{n, t} g[n, o, t], \\qquad
    \\frac{\\partial L}{\\partial xp[n, c, t s + j]} \\mathrel{+}= \\sum_o W[o, c, j] \\, g[n, o, t].

*im2col* gathers the windows of a block of samples into columns
``cols[(c, j), (n, t)] = xp[n, c, t s + j]`` (one copy from a strided view), so that
the block's output is one matrix product ``W2 @ cols`` with ``W2`` the kernel as an
``(O, C k)`` matrix, ``gradW += G @ cols.T`` with ``G[o, (n, t)] = g[n, o, t]``, and the
columns' gradient ``W2.T @ G`` is added back to the input positions one kernel offset at
a time (*col2im*). A row of ones under the columns lets the same products add the bias
and sum its gradient. The blocks are small enough for their columns to stay in the CPU
cache between their gather and their product; one product per block (rather than one
per sample) is large enough for BLAS to use every core.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _kernels
from .init import get_initializer
from .module import Module, as_generator, check_int

__all__ = ["Conv1d"]


class Conv1d(Module):
    """1-D convolution of ``(N, in_channels, L)`` input.

    Parameters
    ----------
    in_channels, out_channels : int
        Numbers of input and output channels.
    kernel_size : int
        Length ``k`` of the kernel.
    stride : int, default=1
        Step between neighbouring windows.
    padding : int or {"valid", "same"}, default=0
        Zeros added at both ends of the sequence. ``"valid"`` means 0; ``"same"`` pads by
        ``k // 2`` so that the output keeps the input's length (odd ``kernel_size`` and
        ``stride=1`` only).
    bias : bool, default=True
        Whether to learn the offsets ``b``.
    init : str or callable, default="uniform"
        Initialiser (see :mod:`sknn_scratch.nn.init`) with ``fan_in = in_channels * k``
        and ``fan_out = out_channels * k``. The default ``U(-1/sqrt(fan_in),
        1/sqrt(fan_in))`` for ``W`` and ``b`` is PyTorch's.
    rng : None, int or numpy.random.Generator
        Source of the initial weights.
    dtype : dtype, default=float64
        dtype of the parameters; a floating input of another dtype converts them.

    Attributes
    ----------
    W : ndarray of shape (out_channels, in_channels, kernel_size)
    b : ndarray of shape (out_channels,)
    gradW, gradb : ndarrays shaped like ``W`` and ``b``

    Notes
    -----
    Input positions that no window reaches (the tail when the stride does not divide)
    get a zero gradient. The backward pass gathers the windows again from the
    ``input`` it is given; nothing is kept between the passes. :meth:`backward`
    computes the input gradient and the parameter gradients in one pass. Weight decay applies to
    ``W`` (``_decayed = ("W",)``).

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import Conv1d
    >>> Conv1d(4, 8, 3, rng=0).forward(np.zeros((2, 4, 10))).shape
    (2, 8, 8)
    >>> Conv1d(4, 8, 3, padding="same", rng=0).forward(np.zeros((2, 4, 10))).shape
    (2, 8, 10)
    """

    _parameters = ("W", "b")
    _gradients = ("gradW", "gradb")
    _decayed = ("W",)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int | str = 0,
        bias: bool = True,
        *,
        init="uniform",
        rng=None,
        dtype=np.float64,
    ):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, 1)
        self.out_channels = check_int("out_channels", out_channels, 1)
        self.kernel_size = k = check_int("kernel_size", kernel_size, 1)
        self.stride = check_int("stride", stride, 1)
        self.padding: int | str
        if isinstance(padding, str):
            if padding == "valid":
                self.padding = self._pad = 0
            elif padding == "same":
                if k % 2 == 0 or self.stride != 1:
                    raise ValueError(
                        f"padding='same' needs an odd kernel_size and stride=1, got kernel_size={k}, "
                        f"stride={self.stride}; use an integer padding"
                    )
                self.padding, self._pad = "same", k // 2
            else:
                raise ValueError(f"padding must be 'same', 'valid' or an integer >= 0, got {padding!r}")
        else:
            self.padding = self._pad = check_int("padding", padding, 0)
        self.bias = bool(bias)
        self.init = init
        self.W = np.empty((self.out_channels, self.in_channels, k), dtype=dtype)
        self.b = np.zeros(self.out_channels, dtype=dtype)
        self.gradW = np.zeros_like(self.W)
        self.gradb = np.zeros_like(self.b)
        self.reset_parameters(rng)

    @classmethod
    def infer_args(cls, sample_shape):
        """``in_channels``: the first axis of a ``(C, L)`` sample."""
        return {"in_channels": sample_shape[0]}

    def reset_parameters(self, rng=None):
        """Draw new initial weights (and offsets when ``bias``) in place."""
        rng = as_generator(rng)
        fn = get_initializer(self.init)
        k = self.kernel_size
        fan_in, fan_out = self.in_channels * k, self.out_channels * k
        self.W[...] = fn(rng, self.W.shape, fan_in, fan_out, self.W.dtype)
        if self.bias:
            self.b[...] = fn(rng, (self.out_channels,), fan_in, fan_out, self.b.dtype)
        else:
            self.b.fill(0)

    def _out_length(self, length):
        padded = length + 2 * self._pad
        if padded < self.kernel_size:
            raise ValueError(
                f"{self!r}: the padded sequence ({padded} = {length} + 2 * {self._pad}) is shorter than the kernel "
                f"({self.kernel_size})"
            )
        return (padded - self.kernel_size) // self.stride + 1

    def output_shape(self, sample_shape):
        """``(out_channels, L_out)`` for samples of shape ``(in_channels, L)``."""
        if len(sample_shape) != 2 or sample_shape[0] != self.in_channels:
            raise ValueError(
                f"{self!r} takes samples of shape ({self.in_channels}, length), got samples of shape "
                f"{tuple(sample_shape)}"
            )
        return (self.out_channels, self._out_length(sample_shape[1]))

    def _input(self, input):
        x = self._match_dtype(input)
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"{self!r} expects input of shape (n_samples, {self.in_channels}, length), got {x.shape}")
        return x, self._out_length(x.shape[2])

    def _padded(self, x):
        p = self._pad
        if not p:
            return np.ascontiguousarray(x)
        xp = np.zeros((*x.shape[:2], x.shape[2] + 2 * p), dtype=x.dtype)
        xp[:, :, p:-p] = x
        return xp

    def _blocks(self, n_samples, length_out, itemsize):
        """Slices of the batch whose columns and column gradients fit in the CPU cache
        together: the products then read what the gathers have just written."""
        rows = self.in_channels * self.kernel_size + 1
        return _kernels.blocks(n_samples, 2 * rows * length_out * itemsize)

    def _columns(self, xp, length_out):
        """``cols[(c, j), (n, t)] = xp[n, c, t s + j]`` for a block of ``n`` padded samples,
        ``(C k + 1, n L_out)``, with a last row of ones: the bias's column of the weight
        matrix multiplies it."""
        n, C, _ = xp.shape
        k = self.kernel_size
        sN, sC, sL = xp.strides
        windows = as_strided(xp, (C, k, n, length_out), (sC, sL, sN, self.stride * sL), writeable=False)
        cols = np.empty((C * k + 1, n, length_out), dtype=xp.dtype)
        np.copyto(cols[: C * k].reshape(C, k, n, length_out), windows)
        cols[-1] = 1
        return cols.reshape(C * k + 1, n * length_out)

    def _gradient(self, gradOutput, shape):
        g = np.asarray(gradOutput, dtype=self.W.dtype)
        if g.shape != shape:
            raise ValueError(f"{self!r}: gradOutput must have shape {shape}, got {g.shape}")
        return g

    def updateOutput(self, input):
        x, length_out = self._input(input)
        xp = self._padded(x)
        # y[n] = [W2 b] @ [cols; 1], one product per block of samples
        W2b = np.concatenate([self.W.reshape(self.out_channels, -1), self.b[:, None]], axis=1)
        out = np.empty((x.shape[0], self.out_channels, length_out), dtype=x.dtype)
        for block in self._blocks(x.shape[0], length_out, x.itemsize):
            y = W2b @ self._columns(xp[block], length_out)
            np.copyto(out[block], y.reshape(self.out_channels, -1, length_out).transpose(1, 0, 2))
        self.output = out
        return out

    def backward(self, input, gradOutput, *, input_grad=True):
        """:meth:`updateGradInput` (unless ``input_grad=False``) and
        :meth:`accGradParameters` in one pass over the blocks: they share the
        rearranged gradient ``G`` and, for the weights, the columns."""
        self.gradInput = self._backward(input, gradOutput, input_grad, True)
        return self.gradInput

    def updateGradInput(self, input, gradOutput):
        self.gradInput = self._backward(input, gradOutput, True, False)
        return self.gradInput

    def accGradParameters(self, input, gradOutput):
        self._backward(input, gradOutput, False, True)

    def _backward(self, input, gradOutput, grad_input, grad_parameters):
        """The input gradient (None unless ``grad_input``), adding the parameter
        gradients when ``grad_parameters``; block by block of samples."""
        x, length_out = self._input(input)
        N, C, L = x.shape
        O, k, s, p = self.out_channels, self.kernel_size, self.stride, self._pad
        g = self._gradient(gradOutput, (N, O, length_out))
        xp = self._padded(x) if grad_parameters else None
        gxp = np.zeros((N, C, L + 2 * p), dtype=g.dtype) if grad_input else None
        W2T = self.W.reshape(O, -1).T
        # [gradW2 gradb].T = [cols; 1] @ G.T (the transposed product is the faster shape for BLAS)
        gWbT = np.zeros((C * k + 1, O), dtype=g.dtype)
        end = s * (length_out - 1) + 1
        for block in self._blocks(N, length_out, g.itemsize):
            G = np.ascontiguousarray(g[block].transpose(1, 0, 2)).reshape(O, -1)
            if grad_parameters:
                gWbT += self._columns(xp[block], length_out) @ G.T
            if grad_input:  # the columns' gradient W2.T @ G, added back one kernel offset at a time
                gcols = (W2T @ G).reshape(C, k, -1, length_out)
                target = gxp[block]
                for j in range(k):
                    target[:, :, j : j + end : s] += gcols[:, j].transpose(1, 0, 2)
        if grad_parameters:
            self.gradW += gWbT[:-1].T.reshape(self.W.shape)
            if self.bias:
                self.gradb += gWbT[-1]
        if not grad_input:
            return None
        return np.ascontiguousarray(gxp[:, :, p : p + L]) if p else gxp

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        if self.stride != 1:
            s += f", stride={self.stride}"
        if self.padding != 0:
            s += f", padding={self.padding!r}"
        if not self.bias:
            s += ", bias=False"
        return s
