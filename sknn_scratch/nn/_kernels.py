"""Array kernels behind :class:`~sknn_scratch.nn.Conv2d` and :class:`~sknn_scratch.nn.MaxPool2d`
(and the row statistics of :class:`~sknn_scratch.nn.LayerNorm`).

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
a larger stride, or fewer than :data:`WIDE_MIN_ROWS` column rows (a first layer on grey
images, whose columns are cheap to gather either way), the positions are the output
grid. The valid positions of each block's products are copied out while in the cache:
outputs and input gradients are C-contiguous for the layers around.

*im2col* gathers the windows of a block of samples into columns ``(n, k*k*C [+ 1],
L)`` with one copy from a strided view, so that the forward pass and the weight
gradient are each one batched matrix product; a last row of ones (with a bias) lets
the same products add the bias and sum the gradient into ``gradb``. The batch is
handled in blocks whose columns take about :data:`BLOCK_BYTES`, so that a block is
still in the CPU cache when the products read it.

With stride 1 the input gradient is a correlation of the output gradient (bordered by
zeros) with the kernel flipped in both axes and its channel axes swapped: one product
per block with the gradient's rows shifted by the ``k`` row offsets, whose ``k``
partial results are added shifted by the column offsets (see :func:`correlate_rows`).
With a larger stride the column gradients are added back with one vectorised addition
per kernel offset (*col2im*).

Scratch arrays live in a ``work`` dict that the calling module owns and reuses from
batch to batch while the shapes match; an inference copy of a module has its own.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

#: bytes of scratch arrays (columns, gradients) handled at once: about a core's L2 cache
BLOCK_BYTES = 1 << 21
#: stride-1 convolutions compute on the wide positions from this many column rows on
WIDE_MIN_ROWS = 32


class ConvGeometry:
    """Sizes of one convolution call: input ``(N, C, H, W)``, kernel ``k``, padding
    ``pad``, ``stride``, with or without a bias. ``L`` is the number of column positions
    per sample and ``row`` the length of a sample's row in the padded buffer."""

    __slots__ = ("N", "C", "H", "W", "k", "pad", "stride", "bias", "Hp", "Wp", "Ho", "Wo", "wide", "L", "row", "shift")

    def __init__(self, shape, k, pad, stride, bias):
        self.N, self.C, self.H, self.W = shape
        self.k, self.pad, self.stride, self.bias = k, pad, stride, bias
        self.Hp, self.Wp = self.H + 2 * pad, self.W + 2 * pad
        self.Ho = (self.Hp - k) // stride + 1
        self.Wo = (self.Wp - k) // stride + 1
        # stride 1 with few column rows (e.g. a first layer on grey images): the output
        # grid itself, whose columns are cheap to gather and need no copying out
        self.wide = stride == 1 and k * k * self.C >= WIDE_MIN_ROWS
        self.L = self.Ho * (self.Wp if self.wide else self.Wo)
        self.row = self.C * self.Hp * self.Wp + (k - 1 if self.wide else 0)
        self.shift = (k - 1) * (self.Wp + 1)  # zeros before the output gradient's rows

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


def flat_scratch(work, name, shape, dtype):
    """An uninitialised array of ``shape``: the start of the 1-D scratch array
    ``work[name]``, which grows when needed (the blocks of a batch share it)."""
    size = math.prod(shape)
    buf = work.get(name)
    if buf is None or buf.size < size or buf.dtype != dtype:
        buf = work[name] = np.empty(size, dtype=dtype)
    return buf[:size].reshape(shape)


def block_scratch(work, name, n, shape, dtype, zero=False):
    """The first ``n`` rows of the scratch array ``work[name]`` ``(rows, *shape)``: the
    blocks of a batch (the first is the largest) share one array."""
    buf = work.get(name)
    if buf is None or buf.shape[0] < n or buf.shape[1:] != tuple(shape) or buf.dtype != dtype:
        buf = work[name] = np.zeros((n, *shape), dtype=dtype) if zero else np.empty((n, *shape), dtype=dtype)
    return buf[:n]


def _planes(buf, g):
    """The ``(n, C, Hp, Wp)`` view of the padded planes in a buffer ``(n, row)``."""
    return buf[:, : g.C * g.Hp * g.Wp].reshape(buf.shape[0], g.C, g.Hp, g.Wp)


def padded_rows(x, g, work):
    """The zero-padded input as a C-contiguous buffer ``(N, row)``: ``x`` itself when it
    needs no padding, else a scratch buffer whose zero border is written once (only the
    interior changes)."""
    if g.row == g.C * g.H * g.W and x.flags.c_contiguous:  # no padding, no tail
        return x.reshape(g.N, g.row)
    buf = scratch(work, "padded", (g.N, g.row), x.dtype, zero=True)
    _planes(buf, g)[:, :, g.pad : g.pad + g.H, g.pad : g.pad + g.W] = x
    return buf


def blocks(n_samples, sample_bytes):
    """Slices of the batch whose scratch arrays (``sample_bytes`` per sample) take about
    :data:`BLOCK_BYTES`."""
    step = max(1, BLOCK_BYTES // max(1, sample_bytes))
    return [slice(start, min(start + step, n_samples)) for start in range(0, n_samples, step)]


def weight_matrix(W, b, bias):
    """``W`` as the ``(O, k*k*C)`` matrix matching the column order ``(i, j, c)``,
    followed by the column ``b`` with a bias."""
    O, C, k, _ = W.shape
    W2 = np.empty((O, k * k * C + bias), dtype=W.dtype)
    W2[:, : k * k * C].reshape(O, k, k, C)[...] = W.transpose(0, 2, 3, 1)
    if bias:
        W2[:, -1] = b
    return W2


def im2col(buf, g, out):
    """Write the columns ``(n, k*k*C [+ 1], L)`` of a block ``buf`` ``(n, row)`` of padded
    samples into ``out``: ``out[m, (i, j, c), pos]`` is the input under kernel entry
    ``(c, i, j)`` of the window at position ``pos`` (and, with a bias, a last row of
    ones). One copy from a strided view."""
    n, C, k, s, e = buf.shape[0], g.C, g.k, g.stride, buf.itemsize
    sN, sC, sH = buf.strides[0], g.Hp * g.Wp * e, g.Wp * e
    if g.wide:  # offset (i, j) of every channel and position is a shift by i * Wp + j
        shape, strides = (n, k, k, C, g.L), (sN, sH, e, sC, e)
    else:
        shape, strides = (n, k, k, C, g.Ho, g.Wo), (sN, sH, e, sC, s * sH, s * e)
    windows = as_strided(buf, shape=shape, strides=strides, writeable=False)
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


def own_geometry(work, g):
    """Empty ``work`` when the images' size changed: the zero parts of its scratch
    arrays (borders, discarded positions) sit where the previous size put them."""
    if work.get("image_size") != (g.H, g.W):
        work.clear()
        work["image_size"] = (g.H, g.W)
    return work


def conv_forward(x, W, b, g, work):
    """The convolution of ``x``, ``(N, O, Ho, Wo)`` and C-contiguous: one batched
    product per block, whose valid positions are copied out while in the cache."""
    work = own_geometry(work, g)
    buf = padded_rows(x, g, work)
    O = W.shape[0]
    W2 = weight_matrix(W, b, g.bias)
    out = np.empty((g.N, O, g.Ho, g.Wo), dtype=x.dtype)
    for block in blocks(g.N, g.n_rows * g.L * x.dtype.itemsize):
        n = block.stop - block.start
        cols = im2col(buf[block], g, block_scratch(work, "cols", n, (g.n_rows, g.L), x.dtype))
        if g.wide:
            rows = np.matmul(W2, cols, out=flat_scratch(work, "rows", (n, O, g.L), x.dtype))
            out[block] = rows.reshape(n, O, g.Ho, g.Wp)[..., : g.Wo]
        else:
            np.matmul(W2, cols, out=out[block].reshape(n, O, g.L))
    return out


def conv_backward(x, gradOutput, W, b, g, work, grad_input, grad_params):
    """``(gradInput, gradW, gradb)`` of the convolution (None for what is not asked).

    One pass over the batch in blocks, gathering the columns of ``x`` again: the
    block's output gradient on the column positions serves both the weight gradient,
    ``sum_n cols[n] @ g[n].T`` (the transposed product, the faster shape for BLAS),
    and the input gradient."""
    O, k, C = W.shape[0], g.k, g.C
    dtype, e = W.dtype, W.dtype.itemsize
    work = own_geometry(work, g)
    buf = padded_rows(x, g, work) if grad_params else None
    gWT = np.zeros((g.n_rows, O), dtype=dtype) if grad_params else None
    sample_bytes = g.n_rows * g.L * grad_params + O * g.L
    if grad_input and g.wide:  # input gradient: a correlation of the gradient with the flipped kernel
        M = g.H * g.Wp
        # rows (j, c), columns (i, o): W[o, c, k-1-i, k-1-j]
        stacked = np.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(3, 1, 2, 0)).reshape(k * C, k * O)
        gx = np.empty((g.N, C, g.H, g.W), dtype=dtype)
        sample_bytes += k * (O + C) * (M + k - 1) + C * M
    elif grad_input:  # strided: column gradients added back (col2im)
        W2T = weight_matrix(W, b, False).T
        gbuf = np.zeros((g.N, g.row), dtype=dtype)
        sample_bytes += g.n_rows * g.L
    for block in blocks(g.N, sample_bytes * e):
        n = block.stop - block.start
        gz = gradient_rows(gradOutput[block], g, work)
        gpos = gz[:, :, g.shift : g.shift + g.L] if g.wide else gz
        if grad_params:
            cols = im2col(buf[block], g, block_scratch(work, "cols", n, (g.n_rows, g.L), dtype))
            if n == 1:
                gWT += cols[0] @ gpos[0].T
            else:
                gWT += np.matmul(cols, gpos.transpose(0, 2, 1)).sum(axis=0)
        if grad_input and g.wide:
            rows = correlate_rows(gz, stacked, g, work)
            gx[block] = rows.reshape(n, C, g.H, g.Wp)[..., g.pad : g.pad + g.W]  # contiguous for the next layer
        elif grad_input:
            col2im(np.matmul(W2T, gpos), gbuf[block], g)
    grad_in = None
    if grad_input:
        p = g.pad
        if g.wide:
            grad_in = gx
        else:
            grad_in = np.ascontiguousarray(_planes(gbuf, g)[:, :, p : p + g.H, p : p + g.W])
    if not grad_params:
        return grad_in, None, None
    k2C = k * k * C
    gradW = gWT[:k2C].reshape(k, k, C, O).transpose(3, 2, 0, 1)
    return grad_in, gradW, (gWT[k2C] if g.bias else None)


def correlate_rows(gz, stacked, g, work):
    """The rows ``(n, C, H * Wp)`` of the padded input's gradient (rows ``pad .. pad + H
    - 1``) for a block of output-gradient rows ``gz`` from :func:`gradient_rows`
    (stride 1): ``sum_{i, j, o} W[o, c, k-1-i, k-1-j] gz[m, o, pad Wp + i Wp + j + t]``.

    The row offsets ``i`` are gathered (``k`` shifted copies of ``gz``, one strided
    copy); the column offsets ``j`` are applied to the product instead: one product
    with ``stacked`` (rows ``(j, c)``) gives, for every ``j``, the sum over ``i`` and
    ``o``, and the ``k`` row groups are added shifted by ``j``. The copy is ``k`` times
    smaller than a gather of all ``k * k`` offsets, and the product has ``k * C`` rows
    instead of ``C``."""
    n, O, length = gz.shape
    k, Wp, M = g.k, g.Wp, g.H * g.Wp
    C = stacked.shape[0] // k
    e = gz.itemsize
    first = gz[:, :, g.pad * Wp :]
    shape, strides = (n, k, O, M + k - 1), (gz.strides[0], Wp * e, gz.strides[1], e)
    windows = as_strided(first, shape=shape, strides=strides, writeable=False)
    gcols = block_scratch(work, "gcols", n, (k * O, M + k - 1), gz.dtype)
    np.copyto(gcols.reshape(shape), windows)
    partial = np.matmul(stacked, gcols, out=block_scratch(work, "partial", n, (k * C, M + k - 1), gz.dtype))
    rows = block_scratch(work, "gx_rows", n, (C, M), gz.dtype)
    np.copyto(rows, partial[:, :C, :M])
    for j in range(1, k):
        rows += partial[:, j * C : (j + 1) * C, j : j + M]
    return rows


def gradient_rows(gradOutput, g, work):
    """A block ``(n, O, Ho, Wo)`` of the output gradient as rows ``(n, O, ...)``.

    Output grid: ``(n, O, L)``, ``gradOutput`` itself when it is contiguous. Wide: the column
    positions behind ``shift = (k - 1) (Wp + 1)`` zeros and followed by enough zeros
    for every window of the input gradient's correlation, ``gz[m, o, shift + h Wp + w]
    = gradOutput[m, o, h, w]`` (zero for the discarded positions ``w >= Wo``). A
    scratch array whose zeros are never written."""
    n, O = gradOutput.shape[:2]
    if not g.wide:
        if gradOutput.flags.c_contiguous:
            return gradOutput.reshape(n, O, g.L)
        gz = block_scratch(work, "gz", n, (O, g.L), gradOutput.dtype)
        gz.reshape(gradOutput.shape)[...] = gradOutput
        return gz
    length = max(g.shift + g.L, (g.pad + g.H + g.k - 1) * g.Wp + g.k - 1)
    gz = block_scratch(work, "gz", n, (O, length), gradOutput.dtype, zero=True)
    gz[:, :, g.shift : g.shift + g.L].reshape(n, O, g.Ho, g.Wp)[..., : g.Wo] = gradOutput
    return gz


# -- max pooling ----------------------------------------------------------------------
def pool_windows(xp, k, s, out_hw, writeable=False):
    """Strided view ``(k, k, N, C, Ho, Wo)`` of the windows of the padded array ``xp``:
    entry ``[i, j, n, c, h, w]`` is ``xp[n, c, h * s + i, w * s + j]``."""
    N, C = xp.shape[:2]
    sN, sC, sH, sW = xp.strides
    shape, strides = (k, k, N, C, *out_hw), (sH, sW, sN, sC, s * sH, s * sW)
    return as_strided(xp, shape=shape, strides=strides, writeable=writeable)


def pool_max(xp, k, s, out_hw, with_argmax, work):
    """The window maxima ``(N, C, Ho, Wo)`` of the padded ``xp`` and (``with_argmax``)
    the flat kernel offset ``i * k + j`` of each window's first maximum.

    Block by block of samples: one strided copy of the block's windows into a scratch
    slab ``(k*k, ...)``, then ``k * k`` comparisons on its contiguous rows that stay in
    the cache, so that the input is read once and the outputs written once."""
    N, C = xp.shape[:2]
    kk, size = k * k, C * out_hw[0] * out_hw[1]
    out = np.empty((N, size), dtype=xp.dtype)
    index_dtype = np.uint8 if kk <= 256 else np.int32
    argmax = np.zeros((N, size), dtype=index_dtype) if with_argmax else None
    for block in blocks(N, kk * size * xp.itemsize):
        n = block.stop - block.start
        windows = pool_windows(xp[block], k, s, out_hw)
        slab = flat_scratch(work, "slab", (kk, n * size), xp.dtype)
        np.copyto(slab.reshape(windows.shape), windows)
        best = out[block].reshape(-1)
        best[...] = slab[0]
        if not with_argmax:
            for t in range(1, kk):
                np.maximum(best, slab[t], out=best)
            continue
        first = argmax[block].reshape(-1)
        greater = flat_scratch(work, "greater", (n * size,), bool)
        offset = flat_scratch(work, "offset", (n * size,), index_dtype)
        for t in range(1, kk):
            # offsets are visited in increasing order, so the offset of a strictly greater
            # value is larger than the current one: a maximum of offsets records it
            np.greater(slab[t], best, out=greater)
            np.maximum(best, slab[t], out=best)
            np.multiply(greater, index_dtype(t), out=offset)
            np.maximum(first, offset, out=first)
    shape = (N, C, *out_hw)
    return out.reshape(shape), None if argmax is None else argmax.reshape(shape)


def pool_scatter(gradOutput, argmax, padded_shape, k, s, work):
    """The gradient of the padded input: each window's gradient added to the element of
    its first maximum (``argmax`` from :func:`pool_max`).

    One kernel offset at a time: ``g * (offset is the maximum)`` written (windows that
    do not overlap) or added (overlapping windows) to the offset's elements. Windows
    that tile the input write each element exactly once; elsewhere the input starts at
    zero. A gradient that is not finite is placed by a masked copy instead, since
    ``inf * 0`` would be NaN."""
    N, C, Hp, Wp = padded_shape
    Ho, Wo = gradOutput.shape[2:]
    finite = bool(np.isfinite(gradOutput).all())
    tiled = finite and s == k and k * Ho == Hp and k * Wo == Wp
    gxp = np.empty(padded_shape, dtype=gradOutput.dtype) if tiled else np.zeros(padded_shape, dtype=gradOutput.dtype)
    view = pool_windows(gxp, k, s, (Ho, Wo), writeable=True)
    for block in blocks(N, (2 * C * Ho * Wo + C * Hp * Wp) * gradOutput.itemsize):
        chosen = flat_scratch(work, "chosen", (block.stop - block.start, C, Ho, Wo), bool)
        g = gradOutput[block]
        for i in range(k):
            for j in range(k):
                np.equal(argmax[block], i * k + j, out=chosen)
                target = view[i, j, block]
                if not finite:
                    np.add(target, g, out=target, where=chosen)
                elif s >= k:  # each element belongs to one window at most
                    np.multiply(g, chosen, out=target)
                else:
                    target += g * chosen
    return gxp


# -- row statistics (LayerNorm) -----------------------------------------------------------
# Sums over the rows or the columns of a 2-D array are matrix-vector products with a
# vector of ones: BLAS computes them faster than ndarray.sum or einsum.
@functools.lru_cache(maxsize=32)
def filled(n, value, dtype):
    """A read-only vector of ``n`` times ``value``."""
    vector = np.full(n, value, dtype=dtype)
    vector.flags.writeable = False
    return vector


def column_sums(a):
    """``a.sum(axis=0)`` of a 2-D array."""
    return filled(a.shape[0], 1, a.dtype) @ a


def row_means(a):
    """``a.mean(axis=1)`` of a 2-D array (the sums divided by the count, as NumPy's:
    a row of equal values has exactly that mean)."""
    means = a @ filled(a.shape[1], 1, a.dtype)
    means /= a.shape[1]
    return means


def row_dot(a, b):
    """``sum(a * b, axis=1)`` of 2-D arrays, without the product array."""
    if hasattr(np, "vecdot"):  # NumPy >= 2.0: faster than einsum
        return np.vecdot(a, b)
    return np.einsum("ij,ij->i", a, b)


def sum_over_samples(a):
    """``a.sum(axis=1)`` of ``a`` shaped ``(F, N, k)``, as a matrix product (several times
    faster than the reduction for these shapes)."""
    return np.matmul(np.ones((1, a.shape[1]), dtype=a.dtype), a)[:, 0, :]
