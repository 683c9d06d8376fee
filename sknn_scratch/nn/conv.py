"""Two-dimensional convolution layer.

The layer computes a cross-correlation (as PyTorch's ``Conv2d`` and
``scipy.signal.correlate`` do): for input ``x`` of shape
``(N, C, H, W)``, zero-padded by ``p`` on each side to ``xp``,

.. math::

    y[n, o, h, w] = b[o] + \\sum_{c, i, j} W[o, c, i, j] \\, xp[n, c, h s + i, w s + j].

Its gradients are again correlations:

.. math::

    \\frac{\\partial L}{\\partial W[o, c, i, j]} = \\sum_{n, h, w} g[n, o, h, w] \\, xp[n, c, h s + i, w s + j],
    \\qquad \\frac{\\partial L}{\\partial b[o]} = \\sum_{n, h, w} g[n, o, h, w],

    \\frac{\\partial L}{\\partial xp[n, c, u, v]} = \\sum_{o, i, j} W[o, c, i, j] \\, g[n, o, (u - i) / s, (v - j) / s]

(the last sum over the offsets for which ``(u - i) / s`` and ``(v - j) / s`` are output
positions), with ``g = dL/dy``; the input gradient is that of ``xp`` without its border.

Gathering every window into a column (*im2col*) turns the forward pass and ``gradW``
into one matrix product each: ``y = W2 @ cols`` and ``gradW = g @ cols.T`` with ``W2``
the kernel as an ``(O, k k C)`` matrix. How the columns are laid out and blocked, and
how the input gradient is computed without a column copy, is in
:mod:`sknn_scratch.nn._kernels`.
"""

from __future__ import annotations

import numpy as np

from . import _kernels
from . import init as _init
from .init import get_initializer
from .module import Module, as_generator, check_int

__all__ = ["Conv2d"]


class Conv2d(Module):
    """2-D convolution of ``(N, in_channels, H, W)`` input.

    Parameters
    ----------
    in_channels, out_channels : int
        Numbers of input and output channels (feature maps).
    kernel_size : int
        Side ``k`` of the square ``k x k`` kernel.
    stride : int, default=1
        Step between neighbouring windows.
    padding : {"same", "valid"} or int, default="same"
        Zeros added on each side of both spatial axes. ``"same"``, the default (the
        seed's convolution, and unlike PyTorch and Keras, whose default is no padding),
        pads by ``k // 2`` so that the output keeps the input's height and width; it
        requires an odd ``kernel_size`` and ``stride=1``. ``"valid"`` means 0 (PyTorch's
        ``padding=0`` and Keras's ``padding="valid"``), and an output of
        ``H - k + 1`` rows. The ``repr`` (and so ``summary()``) always shows it.
    bias : bool, default=True
        Whether to learn the offsets ``b``.
    init : str or callable, default="uniform"
        Initialiser (see :mod:`sknn_scratch.nn.init`). The default is Torch7's: ``W``
        and ``b`` drawn from ``U(-1/sqrt(in_channels), 1/sqrt(in_channels))``
        (``fan_in = in_channels``). Every other initialiser gets the receptive-field fans
        ``fan_in = in_channels * k * k`` and ``fan_out = out_channels * k * k``.
    rng : None, int or numpy.random.Generator
        Source of the initial weights.
    dtype : dtype, default=float64
        dtype of the parameters; a floating input of another dtype converts them.

    Attributes
    ----------
    W : ndarray of shape (out_channels, in_channels, kernel_size, kernel_size)
    b : ndarray of shape (out_channels,)
    gradW, gradb : ndarrays shaped like ``W`` and ``b``
        Accumulated gradients (``backward`` adds to them).
    in_channels, out_channels, kernel_size, stride : int
    padding : "same" or int

    Notes
    -----
    The output has ``floor((H + 2 p - k) / stride) + 1`` rows (likewise columns); input
    rows and columns that no window reaches get a zero gradient.

    The backward pass gathers the input's windows again from the ``input`` it is
    given, so it needs nothing kept from the forward pass. Scratch arrays are reused
    from batch to batch; :meth:`~Module.clearState` frees them.

    With stride 1 the products run over ``k - 1`` extra columns per output row, whose
    windows wrap into the next input row and whose gradient is zero: an infinite input
    value there makes ``gradW`` NaN (``0 * inf``) where the sum over the valid
    positions alone would be finite. Such an input makes the output infinite anyway.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn.conv import Conv2d
    >>> conv = Conv2d(3, 4, 3, rng=0)
    >>> conv
    Conv2d(3, 4, kernel_size=3, padding='same')
    >>> conv.forward(np.zeros((2, 3, 8, 8))).shape
    (2, 4, 8, 8)
    >>> Conv2d(3, 4, 3, padding="valid", rng=0).forward(np.zeros((2, 3, 8, 8))).shape
    (2, 4, 6, 6)
    >>> Conv2d(3, 4, 3, stride=2, padding=0, rng=0).forward(np.zeros((2, 3, 8, 8))).shape
    (2, 4, 3, 3)
    """

    _parameters = ("W", "b")
    _gradients = ("gradW", "gradb")
    #: weight decay applies to the kernels, not to the offsets
    _decayed = ("W",)
    _transient = (*Module._transient, "_cache_work")

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        *,
        stride=1,
        padding="same",
        bias=True,
        init="uniform",
        rng=None,
        dtype=np.float64,
    ):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, 1)
        self.out_channels = check_int("out_channels", out_channels, 1)
        self.kernel_size = k = check_int("kernel_size", kernel_size, 1)
        self.stride = check_int("stride", stride, 1)
        if isinstance(padding, str):
            mode = padding.lower()
            if mode == "same":
                if k % 2 == 0:
                    raise ValueError(
                        f"padding='same' needs an odd kernel_size, got kernel_size={k}; "
                        "use an integer padding for even kernels"
                    )
                if self.stride != 1:
                    raise ValueError(f"padding='same' needs stride=1, got stride={self.stride}; use an integer padding")
                self.padding = "same"
                self._pad = k // 2
            elif mode == "valid":
                self.padding = 0
                self._pad = 0
            else:
                raise ValueError(f"padding must be 'same', 'valid' or an integer >= 0, got {padding!r}")
        else:
            self.padding = self._pad = check_int("padding", padding, 0)
        self.bias = bool(bias)
        self.init = init
        self.W = np.empty((self.out_channels, self.in_channels, k, k), dtype=dtype)
        self.b = np.zeros(self.out_channels, dtype=dtype)
        self.gradW = np.zeros_like(self.W)
        self.gradb = np.zeros_like(self.b)
        self._cache_work = None
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None):
        """Draw new initial weights (and offsets when ``bias``) in place."""
        rng = as_generator(rng)
        fn = get_initializer(self.init)
        k2 = self.kernel_size * self.kernel_size
        if fn is _init.uniform:  # stdv = 1 / sqrt(in_channels)
            fan_in, fan_out = self.in_channels, self.out_channels
        else:
            fan_in, fan_out = self.in_channels * k2, self.out_channels * k2
        dtype = self.W.dtype
        self.W[...] = fn(rng, self.W.shape, fan_in, fan_out, dtype)
        if self.bias:
            self.b[...] = fn(rng, (self.out_channels,), fan_in, fan_out, dtype)
        else:
            self.b.fill(0)

    @classmethod
    def infer_args(cls, sample_shape):
        """``in_channels``: the first axis of a ``(C, H, W)`` sample."""
        return {"in_channels": sample_shape[0]}

    def output_shape(self, sample_shape):
        """``(out_channels, H_out, W_out)`` for samples of shape ``(in_channels, H, W)``."""
        if len(sample_shape) != 3 or sample_shape[0] != self.in_channels:
            raise ValueError(
                f"{self!r} takes samples of shape ({self.in_channels}, height, width), "
                f"got samples of shape {tuple(sample_shape)}"
            )
        g = self._geometry((1, *sample_shape))  # or an error: the kernel is larger than the padded image
        return (self.out_channels, g.Ho, g.Wo)

    def _geometry(self, shape):
        if len(shape) != 4 or shape[1] != self.in_channels:
            raise ValueError(
                f"{self!r} expects input of shape (n_samples, {self.in_channels}, height, width), got {tuple(shape)}"
            )
        k, p = self.kernel_size, self._pad
        if shape[2] + 2 * p < k or shape[3] + 2 * p < k:
            raise ValueError(
                f"{self!r}: the padded input ({shape[2] + 2 * p}, {shape[3] + 2 * p}) (input {tuple(shape[2:])} with "
                f"padding {p}) is smaller than the kernel ({k}, {k})"
            )
        return _kernels.ConvGeometry(shape, k, p, self.stride, self.bias)

    def _work(self):
        """This module's scratch arrays (see :mod:`._kernels`), reused from batch to batch."""
        if self._cache_work is None:
            self._cache_work = {}
        return self._cache_work

    def updateOutput(self, input):
        g = self._geometry(np.shape(input))
        x = self._match_dtype(np.asarray(input))
        # y = W2 @ im2col(xp), block by block of samples
        self.output = _kernels.conv_forward(x, self.W, self.b, g, self._work())
        return self.output

    def _backward(self, input, gradOutput, *, grad_input, grad_params):
        g = self._geometry(np.shape(input))
        x = self._match_dtype(np.asarray(input))
        gradOutput = np.asarray(gradOutput, dtype=self.W.dtype)
        expected = (g.N, self.out_channels, g.Ho, g.Wo)
        if gradOutput.shape != expected:
            raise ValueError(f"{self!r}: gradOutput must have shape {expected}, got {gradOutput.shape}")
        grad_in, gradW, gradb = _kernels.conv_backward(
            x, gradOutput, self.W, self.b, g, self._work(), grad_input, grad_params
        )
        if grad_params:
            self.gradW += gradW  # sum over samples of g @ cols.T
            if self.bias:
                self.gradb += gradb  # sum of g over samples and positions
        if grad_input:
            self.gradInput = grad_in  # the correlation of g with the flipped kernel, unpadded
        return self.gradInput

    def updateGradInput(self, input, gradOutput):
        return self._backward(input, gradOutput, grad_input=True, grad_params=False)

    def accGradParameters(self, input, gradOutput):
        self._backward(input, gradOutput, grad_input=False, grad_params=True)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        if self.stride != 1:
            s += f", stride={self.stride}"
        s += f", padding={self.padding!r}"  # always: "same" is this layer's default, not PyTorch's or Keras's
        if not self.bias:
            s += ", bias=False"
        return s
