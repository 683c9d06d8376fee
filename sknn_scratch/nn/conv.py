"""Two-dimensional convolution layer, vectorised with im2col and matrix products.

The layer computes a cross-correlation (as PyTorch's ``Conv2d`` and the seed
notebook do, via ``scipy.signal.correlate``): for input ``x`` of shape
``(N, C, H, W)``, zero-padded by ``p`` on each side to ``xp``,

.. math::

    y[n, o, h, w] = b[o] + \\sum_{c, i, j} W[o, c, i, j] \\, xp[n, c, h s + i, w s + j].

Implementation
--------------
The windows of a block of samples are gathered into a column matrix of shape
``(n, k k C, positions)`` (*im2col*, one copy from a strided view), so that the
forward pass and ``gradW`` are each one batched matrix product. With stride 1 the
gradient with respect to the input is itself a correlation: of the output gradient
(bordered by zeros) with the kernel flipped in both axes and its channel axes swapped,
computed as one batched product per kernel offset on shifted windows of the gradient
(no copy). With a larger stride it
is scattered back from the gradient of the columns with one vectorised addition per
kernel offset (*col2im*). There is never a Python loop over samples, channels or
positions.

With stride 1 (the default) every sample is stored as one flat row of its padded
channel planes. The window of position ``(h, w)`` at kernel offset ``(i, j)`` then
starts at flat index ``h * Wp + w + (i * Wp + j)``: a plain shift, the same for every
channel. Computing the output on all ``Ho * Wp`` positions ``h * Wp + w`` of the output
rows (the ones past the valid ``Wo`` columns are computed and discarded, and receive a
zero gradient) turns each gather and each scatter of the kernel offset ``(i, j)`` into
one contiguous copy per sample and channel, which NumPy does at memory speed.

With a bias, the columns end with a row of ones and the weight matrix with the column
``b``: the same matrix products add the bias in the forward pass and sum ``gradOutput``
into ``gradb`` in the backward pass. The output is the view of the valid positions of
the product (no cropping copy): a new array each call, not C-contiguous when positions
were discarded. Likewise ``gradInput`` is the view of the unpadded part of the gradient
of the padded input.

The batch is processed in blocks of samples whose columns take about 2 MiB, so
that a block of columns is still in the CPU cache when the matrix products read it.
The zero-padded input, the columns and the other per-batch work arrays are kept in
``_cache_work`` and reused by the next batch of the same shape (the estimators drop
``_cache*`` attributes after ``fit``); the output and ``gradInput`` are always new
arrays, so that callers may overwrite them.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import init as _init
from .init import get_initializer
from .module import Module, as_generator

__all__ = ["Conv2d"]

#: bytes of im2col columns handled at once: a block of samples this size stays in the
#: CPU's L2 cache between the gather and the matrix products that read it
_BLOCK_BYTES = 1 << 21
#: a training-mode forward pass keeps its im2col columns for the backward pass when
#: they take at most this many bytes (otherwise the backward pass gathers them again)
_CACHE_BYTES = 1 << 26


def _as_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class _Geometry:
    """Sizes of one convolution call.

    The padded input is stored as a 2-D buffer with one row of ``row`` elements per
    sample: the ``C`` padded planes ``(Hp, Wp)`` one after the other, then (stride 1)
    ``tail`` zeros that the shifted windows of the last positions may read.
    ``L`` is the number of column positions per sample.
    """

    __slots__ = ("N", "C", "H", "W", "Hp", "Wp", "Ho", "Wo", "wide", "L", "tail", "row")

    def __init__(self, N, C, H, W, pad, k, stride):
        self.N, self.C, self.H, self.W = N, C, H, W
        self.Hp, self.Wp = H + 2 * pad, W + 2 * pad
        self.Ho = (self.Hp - k) // stride + 1
        self.Wo = (self.Wp - k) // stride + 1
        self.wide = stride == 1
        if self.wide:  # positions: the flat indices h * Wp + w of the output rows h < Ho
            self.L = self.Ho * self.Wp
            self.tail = k - 1
        else:  # positions: the output grid
            self.L = self.Ho * self.Wo
            self.tail = 0
        self.row = C * self.Hp * self.Wp + self.tail


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
        Zeros added on each side of both spatial axes. ``"same"`` (the seed notebook's
        only mode) pads by ``k // 2`` so that the output keeps the input's height and
        width; it requires an odd ``kernel_size`` and ``stride=1``. ``"valid"`` means 0.
    bias : bool, default=True
        Whether to learn the offsets ``b``.
    init : str or callable, default="uniform"
        Initialiser (see :mod:`sknn_scratch.nn.init`). The default reproduces the seed
        notebook: ``W`` and ``b`` drawn from ``U(-1/sqrt(in_channels), 1/sqrt(in_channels))``
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

    A training-mode forward pass keeps its im2col columns (up to 64 MiB; beyond that
    only the zero-padded input, from which the columns are gathered again). The
    backward pass reuses them only when it receives the very same input object
    (``is``); for any other input it computes its own. Evaluation mode keeps nothing
    for the backward pass. Scratch arrays (the padded input, the columns) are kept in
    ``_cache_work`` for the next batch of the same shape; setting the ``_cache*``
    attributes to None (as the estimators do after ``fit`` and ``predict``) frees them.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn.conv import Conv2d
    >>> conv = Conv2d(3, 4, 3, rng=0)
    >>> conv.forward(np.zeros((2, 3, 8, 8))).shape
    (2, 4, 8, 8)
    >>> Conv2d(3, 4, 3, stride=2, padding=0, rng=0).forward(np.zeros((2, 3, 8, 8))).shape
    (2, 4, 3, 3)
    """

    _parameters = ("W", "b")
    _gradients = ("gradW", "gradb")

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
        self.in_channels = _as_int("in_channels", in_channels, 1)
        self.out_channels = _as_int("out_channels", out_channels, 1)
        self.kernel_size = k = _as_int("kernel_size", kernel_size, 1)
        self.stride = _as_int("stride", stride, 1)
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
            self.padding = self._pad = _as_int("padding", padding, 0)
        self.bias = bool(bias)
        self.init = init
        self.W = np.empty((self.out_channels, self.in_channels, k, k), dtype=dtype)
        self.b = np.zeros(self.out_channels, dtype=dtype)
        self.gradW = np.zeros_like(self.W)
        self.gradb = np.zeros_like(self.b)
        self._cache_input = self._cache_cols = self._cache_padded = None
        self._cache_work = None
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None):
        """Draw new initial weights (and offsets when ``bias``) in place."""
        rng = as_generator(rng)
        fn = get_initializer(self.init)
        k2 = self.kernel_size * self.kernel_size
        if fn is _init.uniform:  # the notebook's stdv = 1 / sqrt(in_channels)
            fan_in, fan_out = self.in_channels, self.out_channels
        else:
            fan_in, fan_out = self.in_channels * k2, self.out_channels * k2
        dtype = self.W.dtype
        self.W[...] = fn(rng, self.W.shape, fan_in, fan_out, dtype)
        if self.bias:
            self.b[...] = fn(rng, (self.out_channels,), fan_in, fan_out, dtype)
        else:
            self.b.fill(0)

    # -- geometry and the data movements ---------------------------------------------
    def _geometry(self, shape):
        if len(shape) != 4 or shape[1] != self.in_channels:
            raise ValueError(
                f"{self!r} expects input of shape (n_samples, {self.in_channels}, height, width), got {tuple(shape)}"
            )
        N, C, H, W = shape
        k, p = self.kernel_size, self._pad
        if H + 2 * p < k or W + 2 * p < k:
            raise ValueError(
                f"{self!r}: the padded input ({H + 2 * p}, {W + 2 * p}) (input ({H}, {W}) with padding {p}) "
                f"is smaller than the kernel ({k}, {k})"
            )
        return _Geometry(N, C, H, W, p, k, self.stride)

    @staticmethod
    def _planes(buf, g):
        """The ``(n, C, Hp, Wp)`` view of the padded planes in a buffer ``(n, row)``."""
        return buf[:, : g.C * g.Hp * g.Wp].reshape(buf.shape[0], g.C, g.Hp, g.Wp)

    def _work(self, name, shape, dtype, zero=False):
        """A scratch buffer kept across batches while its shape and dtype match (the
        ``_cache`` prefix lets the estimator drop it after ``fit``). A new one is
        zero-filled with ``zero``: callers that rely on that never write its zero parts."""
        cache = self._cache_work
        if cache is None:
            cache = self._cache_work = {}
        buf = cache.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = cache[name] = np.zeros(shape, dtype=dtype) if zero else np.empty(shape, dtype=dtype)
        return buf

    def _padded(self, x, g, reuse=False):
        """The zero-padded input as a C-contiguous buffer ``(N, row)``; with ``reuse`` a
        scratch buffer whose zero border is kept across batches (only the interior is
        written)."""
        p = self._pad
        if not p and not g.tail:
            return np.ascontiguousarray(x).reshape(g.N, g.row)
        if reuse:
            buf = self._work("padded", (g.N, g.row), x.dtype, zero=True)
        else:
            buf = np.zeros((g.N, g.row), dtype=x.dtype)
        self._planes(buf, g)[:, :, p : p + g.H, p : p + g.W] = x
        return buf

    def _blocks(self, g, itemsize):
        """Slices of the batch whose im2col columns take about ``_BLOCK_BYTES``."""
        per_sample = self.kernel_size * self.kernel_size * g.C * g.L * itemsize
        step = max(1, _BLOCK_BYTES // per_sample)
        return [slice(start, start + step) for start in range(0, g.N, step)]

    def _weights(self):
        """``W`` as the ``(O, k*k*C)`` matrix matching the column order ``(i, j, c)``,
        followed by the column ``b`` when the layer has a bias (matching the row of
        ones that ends the im2col columns)."""
        O, k2C = self.out_channels, self.W[0].size
        W2 = np.empty((O, k2C + self.bias), dtype=self.W.dtype)
        W2[:, :k2C].reshape(O, self.kernel_size, self.kernel_size, self.in_channels)[...] = self.W.transpose(0, 2, 3, 1)
        if self.bias:
            W2[:, k2C] = self.b
        return W2

    def _im2col(self, buf, g, out=None):
        """Columns ``(n, k*k*C [+ 1], L)`` of a block ``buf`` ``(n, row)`` of padded
        samples: ``cols[m, (i, j, c), pos]`` is the input under kernel entry ``(c, i, j)``
        of the window at position ``pos``, and (with a bias) a last row of ones, so that
        one matrix product adds the bias. One copy from a strided view of ``buf``, into
        ``out`` when given."""
        n, C, k, s = buf.shape[0], g.C, self.kernel_size, self.stride
        e, sN = buf.itemsize, buf.strides[0]
        sC, sH = g.Hp * g.Wp * e, g.Wp * e
        if g.wide:  # offset (i, j) of every channel and position is a shift by i * Wp + j
            shape, strides = (n, k, k, C, g.L), (sN, sH, e, sC, e)
        else:
            shape, strides = (n, k, k, C, g.Ho, g.Wo), (sN, sH, e, sC, s * sH, s * e)
        windows = as_strided(buf, shape=shape, strides=strides, writeable=False)
        k2C = k * k * C
        if out is None:
            out = np.empty((n, k2C + self.bias, g.L), dtype=buf.dtype)
        np.copyto(out[:, :k2C].reshape(shape), windows)
        if self.bias:
            out[:, k2C] = 1
        return out

    def _col2im(self, gcols, gbuf, g):
        """Add column gradients ``(n, k*k*C, L)`` into a block ``gbuf`` ``(n, row)`` of
        the padded-input gradient: one vectorised addition per kernel offset (the
        strided layout; with stride 1 see :meth:`_transposed_correlation`)."""
        n, C, k, s = gbuf.shape[0], g.C, self.kernel_size, self.stride
        planes = self._planes(gbuf, g)
        gcols = gcols.reshape(n, k, k, C, g.Ho, g.Wo)
        h_end, w_end = s * (g.Ho - 1) + 1, s * (g.Wo - 1) + 1
        for i in range(k):
            for j in range(k):
                planes[:, :, i : i + h_end : s, j : j + w_end : s] += gcols[:, i, j]

    # -- the Module API ---------------------------------------------------------------
    def updateOutput(self, input):
        x = np.asarray(input)
        g = self._geometry(x.shape)
        x = self._match_dtype(x)
        O, k = self.out_channels, self.kernel_size
        cols_all = None
        keep = self.training and g.N * (k * k * g.C + self.bias) * g.L * x.dtype.itemsize <= _CACHE_BYTES
        # the scratch padded buffer only when it is not kept for the backward pass
        buf = self._padded(x, g, reuse=keep or not self.training)
        if self.training:  # keep the columns (or, when they are too big, the padded input)
            if keep:  # reused from batch to batch
                cols_all = self._work("cols", (g.N, k * k * g.C + self.bias, g.L), x.dtype)
            self._cache_input = input
            self._cache_cols, self._cache_padded = (cols_all, None) if cols_all is not None else (None, buf)
        else:
            self._cache_input = self._cache_cols = self._cache_padded = None
        W2 = self._weights()
        wide = np.empty((g.N, O, g.L), dtype=x.dtype)
        for block in self._blocks(g, x.dtype.itemsize):
            cols = self._im2col(buf[block], g, None if cols_all is None else cols_all[block])
            np.matmul(W2, cols, out=wide[block])
        # a view of the valid positions (with stride 1 the Wp - Wo columns past the valid
        # ones are skipped): no copy; the caller may still overwrite it
        self.output = wide.reshape(g.N, O, g.Ho, -1)[..., : g.Wo]
        return self.output

    def _backward(self, input, gradOutput, *, grad_input, grad_params):
        x = np.asarray(input)
        g = self._geometry(x.shape)
        x = self._match_dtype(x)
        gradOutput = np.asarray(gradOutput, dtype=self.W.dtype)
        expected = (g.N, self.out_channels, g.Ho, g.Wo)
        if gradOutput.shape != expected:
            raise ValueError(f"{self!r}: gradOutput must have shape {expected}, got {gradOutput.shape}")
        W2 = self._weights()
        if grad_params:
            # the forward pass's columns (or padded input) belong to that very input object only
            cols_all = buf = None
            if input is self._cache_input:
                cols_all, buf = self._cache_cols, self._cache_padded
                cached = cols_all if cols_all is not None else buf
                if cached is None or cached.dtype != x.dtype:
                    cols_all = buf = None
            if cols_all is None and buf is None:
                buf = self._padded(x, g)
            gW = np.zeros(W2.shape, dtype=W2.dtype)
        k = self.kernel_size
        k2C = k * k * g.C
        gz = self._shifted_gradient(gradOutput, g) if g.wide else None
        if grad_input and not g.wide:
            gbuf = np.zeros((g.N, g.row), dtype=W2.dtype)
        D = self._shift(g)
        for block in self._blocks(g, x.dtype.itemsize):
            if gz is not None:  # the gradient on the column positions, from the shifted one
                gpos = gz[block, :, D : D + g.L]
            else:  # strided: the positions are the output grid
                gpos = np.ascontiguousarray(gradOutput[block]).reshape(-1, self.out_channels, g.L)
            if grad_params:  # sum over the block's samples of (O, L) @ (L, k*k*C [+ 1])
                cols = cols_all[block] if cols_all is not None else self._im2col(buf[block], g)
                gW += (gpos @ cols.transpose(0, 2, 1)).sum(axis=0)
            if grad_input and gz is None:
                self._col2im(W2[:, :k2C].T @ gpos, gbuf[block], g)
        if grad_params:
            self.gradW += gW[:, :k2C].reshape(self.out_channels, k, k, g.C).transpose(0, 3, 1, 2)
            if self.bias:  # the row of ones: the sum of gradOutput over samples and positions
                self.gradb += gW[:, k2C]
        if grad_input:
            p = self._pad
            if gz is not None:
                self.gradInput = self._transposed_correlation(gz, g)[..., p : p + g.W]
            else:
                self.gradInput = self._planes(gbuf, g)[:, :, p : p + g.H, p : p + g.W]  # a view, like the output
        return self.gradInput

    # -- the input gradient with stride 1: a correlation of the gradient with the flipped kernel
    def _shift(self, g):
        """``D = (k - 1) * Wp + (k - 1)``: the zeros before the gradient in :meth:`_shifted_gradient`."""
        return (self.kernel_size - 1) * (g.Wp + 1)

    def _shifted_gradient(self, gradOutput, g):
        """``gradOutput`` on the column positions, behind ``D`` zeros and followed by
        enough zeros: ``gz[n, o, D + h * Wp + w] = gradOutput[n, o, h, w]`` (zero for the
        discarded positions ``w >= Wo``), shaped ``(N, O, Lz)``. A scratch buffer whose
        zeros are never written, so they are kept from batch to batch."""
        D, O = self._shift(g), self.out_channels
        length = max(D + g.L, (self._pad + g.H) * g.Wp + D)
        gz = self._work("gz", (g.N, O, length), gradOutput.dtype, zero=True)
        gz[:, :, D : D + g.L].reshape(g.N, O, g.Ho, g.Wp)[..., : g.Wo] = gradOutput
        return gz

    def _transposed_correlation(self, gz, g):
        """The gradient of the padded input's rows ``p .. p + H - 1``, shaped ``(N, C,
        H, Wp)``: with ``gz`` from :meth:`_shifted_gradient`,

        ``gxp[n, c, m] = sum_{i, j} sum_o W[o, c, k-1-i, k-1-j] gz[n, o, m + i Wp + j]``,

        one batched product per kernel offset ``(i, j)``, each reading a shifted window
        of ``gz`` in place (no im2col copy, which would be ``k * k`` times the size of
        ``gz``)."""
        k, C, Wp = self.kernel_size, g.C, g.Wp
        M = g.H * Wp  # the rows of the padded input that hold the input
        first = gz[:, :, self._pad * Wp :]
        # flipped[i, j] = W[:, :, k-1-i, k-1-j].T, shaped (C, O)
        flipped = np.ascontiguousarray(self.W[:, :, ::-1, ::-1].transpose(2, 3, 1, 0))
        out = np.empty((g.N, C, M), dtype=gz.dtype)
        term = self._work("tterm", (g.N, C, M), gz.dtype)
        for i in range(k):
            for j in range(k):
                window = first[:, :, i * Wp + j : i * Wp + j + M]
                np.matmul(flipped[i, j], window, out=out if i == j == 0 else term)
                if i or j:
                    out += term
        return out.reshape(g.N, C, g.H, Wp)

    def updateGradInput(self, input, gradOutput):
        return self._backward(input, gradOutput, grad_input=True, grad_params=False)

    def accGradParameters(self, input, gradOutput):
        self._backward(input, gradOutput, grad_input=False, grad_params=True)

    def backward(self, input, gradOutput):
        return self._backward(input, gradOutput, grad_input=True, grad_params=True)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        if self.stride != 1:
            s += f", stride={self.stride}"
        if self.padding != "same":
            s += f", padding={self.padding}"
        if not self.bias:
            s += ", bias=False"
        return s
