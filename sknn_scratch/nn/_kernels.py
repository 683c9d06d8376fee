"""Array kernels behind :class:`~sknn_scratch.nn.Conv2d` and :class:`~sknn_scratch.nn.MaxPool2d`.

The layers state the maths; this module shapes it into few large matrix products and
whole-array copies. Every function here equals the plain formula of its layer (the
tests compare them with direct loops and finite differences, through
``sknn_scratch.testing.check_module``).

Convolution layout
------------------
The zero-padded input is stored as a 2-D buffer with one row per sample: the ``C``
padded planes ``(Hp, Wp)`` one after the other, then (stride 1) ``k - 1`` zeros that
the windows of the last positions may read. With stride 1 the window of output
position ``(h, w)`` at kernel offset ``(i, j)`` starts at flat index
``h * Wp + w + (i * Wp + j)``: a plain shift, the same for every channel. Computing the
output on all ``Ho * Wp`` positions ``h * Wp + w`` of the output rows (the ``Wp - Wo``
past the valid columns are computed and discarded, and receive a zero gradient) makes
every gather and scatter of an offset one contiguous copy per sample and channel. With
a larger stride the positions are the output grid.

*im2col* gathers the windows of a block of samples into columns ``(n, k*k*C [+ 1],
L)`` with one copy from a strided view, so that the forward pass and the weight
gradient are each one batched matrix product; a last row of ones (with a bias) lets
the same products add the bias and sum the gradient into ``gradb``. The batch is
handled in blocks whose columns take about :data:`BLOCK_BYTES`, so that a block is
still in the CPU cache when the products read it.

With stride 1 the input gradient is a correlation of the output gradient (bordered by
zeros) with the kernel flipped in both axes and its channel axes swapped: one batched
product per kernel offset on shifted windows of the gradient, with no copy. With a
larger stride the column gradients are added back with one vectorised addition per
kernel offset (*col2im*).

Scratch arrays live in a ``work`` dict that the calling module owns and reuses from
batch to batch while the shapes match; an inference copy of a module has its own.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

#: bytes of im2col columns handled at once (about the size of a core's L2 cache)
BLOCK_BYTES = 1 << 21
#: a training-mode forward pass keeps its columns for the backward pass up to this size;
#: beyond it only the padded input is kept and the backward pass gathers them again
KEEP_BYTES = 1 << 26


class ConvGeometry:
    """Sizes of one convolution call: input ``(N, C, H, W)``, kernel ``k``, padding
    ``pad``, ``stride``, with or without a bias. ``L`` is the number of column positions
    per sample and ``row`` the length of a sample's row in the padded buffer."""

    __slots__ = ("N", "C", "H", "W", "k", "pad", "stride", "bias", "Hp", "Wp", "Ho", "Wo", "wide", "L", "row")

    def __init__(self, shape, k, pad, stride, bias):
        self.N, self.C, self.H, self.W = shape
        self.k, self.pad, self.stride, self.bias = k, pad, stride, bias
        self.Hp, self.Wp = self.H + 2 * pad, self.W + 2 * pad
        self.Ho = (self.Hp - k) // stride + 1
        self.Wo = (self.Wp - k) // stride + 1
        self.wide = stride == 1
        self.L = self.Ho * (self.Wp if self.wide else self.Wo)
        self.row = self.C * self.Hp * self.Wp + (k - 1 if self.wide else 0)

    @property
    def n_rows(self):
        """Rows of a column matrix: ``k * k * C``, plus one of ones with a bias."""
        return self.k * self.k * self.C + self.bias


def scratch(work, name, shape, dtype, zero=False):
    """The array ``work[name]``, made anew (zero-filled with ``zero``) unless it has
    ``shape`` and ``dtype``. Callers that rely on ``zero`` never write the zero parts."""
    buf = work.get(name)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = work[name] = np.zeros(shape, dtype=dtype) if zero else np.empty(shape, dtype=dtype)
    return buf


def _planes(buf, g):
    """The ``(n, C, Hp, Wp)`` view of the padded planes in a buffer ``(n, row)``."""
    return buf[:, : g.C * g.Hp * g.Wp].reshape(buf.shape[0], g.C, g.Hp, g.Wp)


def padded_rows(x, g, work=None):
    """The zero-padded input as a C-contiguous buffer ``(N, row)``; given ``work``, a
    scratch buffer whose zero border is written once (only the interior changes)."""
    if g.row == g.C * g.H * g.W:  # no padding, no tail
        return np.ascontiguousarray(x).reshape(g.N, g.row)
    if work is None:
        buf = np.zeros((g.N, g.row), dtype=x.dtype)
    else:
        buf = scratch(work, "padded", (g.N, g.row), x.dtype, zero=True)
    _planes(buf, g)[:, :, g.pad : g.pad + g.H, g.pad : g.pad + g.W] = x
    return buf


def blocks(g, itemsize):
    """Slices of the batch whose columns take about :data:`BLOCK_BYTES`."""
    step = max(1, BLOCK_BYTES // (g.k * g.k * g.C * g.L * itemsize))
    return [slice(start, start + step) for start in range(0, g.N, step)]


def weight_matrix(W, b, bias):
    """``W`` as the ``(O, k*k*C)`` matrix matching the column order ``(i, j, c)``,
    followed by the column ``b`` with a bias."""
    O, C, k, _ = W.shape
    W2 = np.empty((O, k * k * C + bias), dtype=W.dtype)
    W2[:, : k * k * C].reshape(O, k, k, C)[...] = W.transpose(0, 2, 3, 1)
    if bias:
        W2[:, -1] = b
    return W2


def im2col(buf, g, out=None):
    """Columns ``(n, k*k*C [+ 1], L)`` of a block ``buf`` ``(n, row)`` of padded samples:
    ``cols[m, (i, j, c), pos]`` is the input under kernel entry ``(c, i, j)`` of the
    window at position ``pos`` (and, with a bias, a last row of ones)."""
    n, C, k, s = buf.shape[0], g.C, g.k, g.stride
    e, sN = buf.itemsize, buf.strides[0]
    sC, sH = g.Hp * g.Wp * e, g.Wp * e
    if g.wide:  # offset (i, j) of every channel and position is a shift by i * Wp + j
        shape, strides = (n, k, k, C, g.L), (sN, sH, e, sC, e)
    else:
        shape, strides = (n, k, k, C, g.Ho, g.Wo), (sN, sH, e, sC, s * sH, s * e)
    windows = as_strided(buf, shape=shape, strides=strides, writeable=False)
    if out is None:
        out = np.empty((n, g.n_rows, g.L), dtype=buf.dtype)
    np.copyto(out[:, : k * k * C].reshape(shape), windows)
    if g.bias:
        out[:, -1] = 1
    return out


def col2im(gcols, gbuf, g):
    """Add column gradients ``(n, k*k*C, L)`` (strided layout) into a block ``gbuf``
    ``(n, row)`` of the padded-input gradient: one addition per kernel offset."""
    n, C, k, s = gbuf.shape[0], g.C, g.k, g.stride
    planes = _planes(gbuf, g)
    gcols = gcols.reshape(n, k, k, C, g.Ho, g.Wo)
    h_end, w_end = s * (g.Ho - 1) + 1, s * (g.Wo - 1) + 1
    for i in range(k):
        for j in range(k):
            planes[:, :, i : i + h_end : s, j : j + w_end : s] += gcols[:, i, j]


def conv_forward(x, W, b, g, work, keep):
    """The convolution of ``x`` as ``(output, saved)``: ``output`` the view of the valid
    positions of the product (not C-contiguous when positions were discarded), and,
    with ``keep``, what :func:`conv_backward` reuses (the columns, or the padded input
    when the columns would take more than :data:`KEEP_BYTES`)."""
    keep_cols = keep and g.N * g.n_rows * g.L * x.dtype.itemsize <= KEEP_BYTES
    buf = padded_rows(x, g, None if keep and not keep_cols else work)
    cols_all = scratch(work, "cols", (g.N, g.n_rows, g.L), x.dtype) if keep_cols else None
    W2 = weight_matrix(W, b, g.bias)
    wide = np.empty((g.N, W.shape[0], g.L), dtype=x.dtype)
    for block in blocks(g, x.dtype.itemsize):
        cols = im2col(buf[block], g, None if cols_all is None else cols_all[block])
        np.matmul(W2, cols, out=wide[block])
    output = wide.reshape(g.N, W.shape[0], g.Ho, -1)[..., : g.Wo]
    saved = None if not keep else (cols_all, None) if keep_cols else (None, buf)
    return output, saved


def conv_backward(x, gradOutput, W, b, g, work, saved, grad_input, grad_params):
    """``(gradInput, gradW, gradb)`` of the convolution (None for what is not asked);
    ``saved`` is what :func:`conv_forward` kept for this very ``x``, or None."""
    O, k2C = W.shape[0], g.k * g.k * g.C
    W2 = weight_matrix(W, b, g.bias)
    cols_all, buf = saved if saved is not None else (None, None)
    if grad_params and cols_all is None and buf is None:
        buf = padded_rows(x, g)
    gW = np.zeros(W2.shape, dtype=W2.dtype) if grad_params else None
    gz = shifted_gradient(gradOutput, g, work) if g.wide else None
    gbuf = np.zeros((g.N, g.row), dtype=W2.dtype) if grad_input and not g.wide else None
    D = (g.k - 1) * (g.Wp + 1)
    for block in blocks(g, x.dtype.itemsize):
        if gz is not None:  # the gradient on the column positions
            gpos = gz[block, :, D : D + g.L]
        else:  # strided: the positions are the output grid
            gpos = np.ascontiguousarray(gradOutput[block]).reshape(-1, O, g.L)
        if grad_params:  # the sum over the block's samples of (O, L) @ (L, k*k*C [+ 1])
            cols = cols_all[block] if cols_all is not None else im2col(buf[block], g)
            gW += (gpos @ cols.transpose(0, 2, 1)).sum(axis=0)
        if gbuf is not None:
            col2im(W2[:, :k2C].T @ gpos, gbuf[block], g)
    grad_in = None
    if grad_input:
        p = g.pad
        if gz is not None:
            grad_in = transposed_correlation(gz, W, g, work)[..., p : p + g.W]
        else:
            grad_in = _planes(gbuf, g)[:, :, p : p + g.H, p : p + g.W]
    if not grad_params:
        return grad_in, None, None
    gradW = gW[:, :k2C].reshape(O, g.k, g.k, g.C).transpose(0, 3, 1, 2)
    return grad_in, gradW, (gW[:, k2C] if g.bias else None)


def shifted_gradient(gradOutput, g, work):
    """``gradOutput`` on the column positions behind ``D = (k - 1) (Wp + 1)`` zeros and
    followed by enough zeros: ``gz[n, o, D + h Wp + w] = gradOutput[n, o, h, w]`` (zero
    for the discarded positions ``w >= Wo``), shaped ``(N, O, length)``. A scratch
    array whose zeros are never written."""
    O = gradOutput.shape[1]
    D = (g.k - 1) * (g.Wp + 1)
    length = max(D + g.L, (g.pad + g.H) * g.Wp + D)
    gz = scratch(work, "gz", (g.N, O, length), gradOutput.dtype, zero=True)
    gz[:, :, D : D + g.L].reshape(g.N, O, g.Ho, g.Wp)[..., : g.Wo] = gradOutput
    return gz


def transposed_correlation(gz, W, g, work):
    """The gradient of the padded input's rows ``pad .. pad + H - 1``, shaped ``(N, C,
    H, Wp)``: with ``gz`` from :func:`shifted_gradient`,

    ``gxp[n, c, m] = sum_{i, j} sum_o W[o, c, k-1-i, k-1-j] gz[n, o, m + i Wp + j]``,

    one batched product per kernel offset ``(i, j)`` on a shifted window of ``gz``."""
    k, C, Wp = g.k, g.C, g.Wp
    M = g.H * Wp
    first = gz[:, :, g.pad * Wp :]
    flipped = np.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(2, 3, 1, 0))  # [i, j] = (C, O)
    out = np.empty((g.N, C, M), dtype=gz.dtype)
    term = scratch(work, "term", (g.N, C, M), gz.dtype)
    for i in range(k):
        for j in range(k):
            window = first[:, :, i * Wp + j : i * Wp + j + M]
            np.matmul(flipped[i, j], window, out=out if i == j == 0 else term)
            if i or j:
                out += term
    return out.reshape(g.N, C, g.H, Wp)


# -- max pooling ----------------------------------------------------------------------
def pool_windows(xp, k, s, out_hw):
    """Strided view ``(k, k, N, C, Ho, Wo)`` of the windows of the padded array ``xp``:
    entry ``[i, j, n, c, h, w]`` is ``xp[n, c, h * s + i, w * s + j]``."""
    N, C = xp.shape[:2]
    sN, sC, sH, sW = xp.strides
    return as_strided(xp, shape=(k, k, N, C, *out_hw), strides=(sH, sW, sN, sC, s * sH, s * sW), writeable=False)


def pool_max(xp, k, s, out_hw, with_argmax):
    """The window maxima ``(N, C, Ho, Wo)`` of the padded ``xp`` and (``with_argmax``)
    the flat kernel offset ``i * k + j`` of each window's first maximum: ``k * k``
    whole-array comparisons over one strided copy of the windows."""
    N, C = xp.shape[:2]
    kk = k * k
    slab = np.ascontiguousarray(pool_windows(xp, k, s, out_hw)).reshape(kk, -1)
    shape = (N, C, *out_hw)
    out = slab[0].copy()
    if not with_argmax:
        for t in range(1, kk):
            np.maximum(out, slab[t], out=out)
        return out.reshape(shape), None
    index_dtype = np.uint8 if kk <= 256 else np.int32
    argmax = np.zeros(out.shape, dtype=index_dtype)
    greater = np.empty(out.shape, dtype=bool)
    offset = np.empty(out.shape, dtype=index_dtype)
    for t in range(1, kk):
        # offsets are visited in increasing order, so the offset of a strictly greater
        # value is larger than the current one: a maximum of offsets records it
        np.greater(slab[t], out, out=greater)
        np.maximum(out, slab[t], out=out)
        np.multiply(greater, index_dtype(t), out=offset)
        np.maximum(argmax, offset, out=argmax)
    return out.reshape(shape), argmax.reshape(shape)


def pool_scatter(gradOutput, argmax, padded_shape, k, s, work):
    """The gradient of the padded input: each window's gradient added to the element of
    its first maximum (``argmax`` from :func:`pool_max`)."""
    gxp = np.zeros(padded_shape, dtype=gradOutput.dtype)
    if s >= k:  # windows do not overlap: every maximum's element gets exactly one value
        corners, offsets = _window_corners(padded_shape, gradOutput.shape[2:], k, s, work)
        gxp.reshape(-1)[(corners + offsets[argmax]).reshape(-1)] = gradOutput.reshape(-1)
        return gxp
    sN, sC, sH, sW = gxp.strides
    view = as_strided(gxp, shape=(k, k, *gradOutput.shape), strides=(sH, sW, sN, sC, s * sH, s * sW))
    for i in range(k):
        for j in range(k):
            view[i, j] += gradOutput * (argmax == i * k + j)
    return gxp


def _window_corners(padded_shape, out_hw, k, s, work):
    """The flat index in the padded input of every window's first element, shaped
    ``(N, C, Ho, Wo)``, and the flat offset ``i * Wp + j`` of each kernel entry ``i * k
    + j``; kept in ``work`` while the shapes match."""
    key = (padded_shape, out_hw, k, s)
    if work.get("corners_key") != key:
        N, C, Hp, Wp = padded_shape
        Ho, Wo = out_hw
        rows = (np.arange(N * C).reshape(-1, 1, 1) * Hp + s * np.arange(Ho).reshape(1, -1, 1)) * Wp
        work["corners"] = (rows + s * np.arange(Wo)).reshape(N, C, Ho, Wo)
        work["offsets"] = (np.arange(k).reshape(-1, 1) * Wp + np.arange(k)).reshape(-1)
        work["corners_key"] = key
    return work["corners"], work["offsets"]
