"""Normalisation layers.

``BatchNormalization`` normalises each channel over the batch; its learned affine part
is its own with ``affine=True``, or, as in the seed, a separate
:class:`~sknn_scratch.nn.ChannelwiseScaling` (in :mod:`.scaling`). Axis 1 is the
channel axis: on 2-D input ``(N, F)`` the module works per feature, on 4-D input
``(N, C, H, W)`` per channel, with statistics and gradients summed over every other
axis (``N, H, W``). (3-D ``(N, C, L)`` input works the same way.)

``LayerNorm`` normalises each sample over its last axis, with its own learned scale
and shift; it behaves the same in training and evaluation.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np

from .module import Module, as_generator, check_int

__all__ = ["BatchNormalization", "LayerNorm", "channel_layout"]


def channel_layout(module, shape):
    """Reduction axes and the broadcast shape of per-channel ``(C,)`` arrays."""
    if len(shape) < 2:
        raise ValueError(
            f"{module!r} expects input of shape (n_samples, features) or (n_samples, channels, height, width), "
            f"got {tuple(shape)}"
        )
    axes = (0,) + tuple(range(2, len(shape)))
    return axes, (1, shape[1]) + (1,) * (len(shape) - 2)


def _as_float(input):
    x = np.asarray(input)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


class BatchNormalization(Module):
    """Normalise every channel to zero mean and unit variance, then (``affine=True``)
    scale and shift it.

    Training mode: ``xhat = (x - mean) / sqrt(var + EPS)`` with the mean and the biased
    variance (``numpy.var``) of the batch, per channel; each forward pass also updates,
    once, ``moving = alpha * moving + (1 - alpha) * batch_statistic`` for both
    statistics (they start at mean 0 and variance 1). Evaluation mode uses
    ``moving_mean`` and ``moving_variance`` instead and leaves them unchanged. The
    output is ``y = xhat``, or with ``affine=True`` ``y = gamma * xhat + beta`` with a
    learned scale ``gamma`` and shift ``beta`` per channel (PyTorch's and Keras's batch
    normalisation). Without ``affine`` (the default, as in the seed) the learned scale
    and shift are a separate :class:`ChannelwiseScaling`, which computes the same.

    Parameters
    ----------
    alpha : float in [0, 1], default=0.0
        Weight of the old moving statistics; 0 keeps only the last batch's.
    affine : bool, default=False
        Learn ``gamma`` (ones at first) and ``beta`` (zeros) per channel.
    n_features : int, default=None
        The number of features (2-D input) or channels (axis 1); required with
        ``affine``, which sizes ``gamma`` and ``beta`` with it. The estimators' builder
        infers it from the input.
    dtype : dtype, default=float64
        dtype of ``gamma`` and ``beta``; a floating input of another dtype converts them.

    Attributes
    ----------
    EPS : float
        ``1e-3``, added to the variance.
    moving_mean, moving_variance : ndarray of shape (n_channels,) or None
        The running statistics, one entry per feature or channel. ``None`` until the
        first training-mode forward pass.
    gamma, beta : ndarray of shape (n_features,) or None
        The learned scale and shift (None without ``affine``).
    gradGamma, gradBeta : ndarray of shape (n_features,) or None
        Their accumulated gradients.

    Notes
    -----
    An evaluation-mode forward pass before any training batch normalises with mean 0
    and variance 1 (the initial moving statistics), i.e. returns
    ``input / sqrt(1 + EPS)`` (then scaled and shifted), rather than failing.

    The training-mode ``gradInput`` is the exact gradient of the batch normalisation,
    including the dependence of the batch mean and variance on every input: with
    ``h = gamma * g`` (``h = g`` without ``affine``),
    ``(h - mean(h) - xhat * mean(h * xhat)) / sqrt(var + EPS)``. It uses the statistics
    of the last forward pass when it receives that pass's input object, and computes
    them from the given input otherwise (without touching the moving statistics).
    In evaluation mode ``gradInput = h / sqrt(moving_variance + EPS)``. The parameter
    gradients are ``sum(g * xhat)`` for ``gamma`` and ``sum(g)`` for ``beta``, summed
    over every axis but the channels'. Weight decay does not apply to them.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn.normalization import BatchNormalization
    >>> bn = BatchNormalization(alpha=0.9)
    >>> y = bn.forward(np.random.default_rng(0).normal(3.0, 2.0, size=(8, 4, 5, 5)))
    >>> bool(np.allclose(y.mean(axis=(0, 2, 3)), 0)), bn.moving_mean.shape
    (True, (4,))
    >>> bn = BatchNormalization(alpha=0.9, affine=True, n_features=4)
    >>> bn.beta[...] = 1.0
    >>> bool(np.allclose(bn.forward(np.random.default_rng(0).normal(size=(8, 4))).mean(axis=0), 1)), bn
    (True, BatchNormalization(alpha=0.9, affine=True, n_features=4))
    """

    EPS = 1e-3
    _buffers = ("moving_mean", "moving_variance")
    _transient = (*Module._transient, "_cache_input", "_cache_xhat", "_cache_inv_std")

    def __init__(self, alpha=0.0, *, affine=False, n_features=None, dtype=np.float64):
        super().__init__()
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 <= alpha <= 1:
            raise ValueError(f"BatchNormalization alpha must be a number in [0, 1], got {alpha!r}")
        if not isinstance(affine, (bool, np.bool_)):
            raise ValueError(f"BatchNormalization affine must be True or False, got {affine!r}")
        self.alpha = alpha
        self.affine = bool(affine)
        self.n_features = None if n_features is None else check_int("BatchNormalization n_features", n_features, 1)
        self.gamma = self.beta = self.gradGamma = self.gradBeta = None
        if self.affine:
            if self.n_features is None:
                raise ValueError(
                    "BatchNormalization(affine=True) needs n_features, the number of features or channels "
                    "(the estimators' builder infers it)"
                )
            self._parameters, self._gradients = ("gamma", "beta"), ("gradGamma", "gradBeta")
            self.gamma = np.ones(self.n_features, dtype=dtype)
            self.beta = np.zeros(self.n_features, dtype=dtype)
            self.gradGamma = np.zeros_like(self.gamma)
            self.gradBeta = np.zeros_like(self.beta)
        self.moving_mean = None
        self.moving_variance = None
        self._cache_input = self._cache_xhat = self._cache_inv_std = None

    @classmethod
    def infer_args(cls, sample_shape):
        """``n_features``: the channels of samples shaped ``(C,)`` or ``(C, H, W)``."""
        return {"n_features": sample_shape[0]} if len(sample_shape) else {}

    def reset_parameters(self, rng=None):
        """``gamma = 1`` and ``beta = 0`` (``rng`` is validated, not used)."""
        as_generator(rng)
        if self.affine:
            self.gamma.fill(1)
            self.beta.fill(0)

    def _check_channels(self, shape):
        if self.n_features is not None and shape[1] != self.n_features:
            raise ValueError(
                f"{self!r} expects {self.n_features} channels on axis 1, got input of shape {tuple(shape)}"
            )
        if self.moving_mean is not None and shape[1] != self.moving_mean.shape[0]:
            raise ValueError(
                f"{self!r} was trained on {self.moving_mean.shape[0]} channels, got input of shape {tuple(shape)} "
                f"with {shape[1]} channels"
            )

    def output_shape(self, sample_shape):
        """The shape of one output sample: that of the input, ``(F,)`` or ``(C, ...)``."""
        if len(sample_shape) < 1:
            raise ValueError(f"{self!r} takes samples of shape (features,) or (channels, ...), got samples of shape ()")
        self._check_channels((1, *sample_shape))
        return tuple(sample_shape)

    def _batch_statistics(self, x, axes, bshape):
        """Batch mean and variance ``(C,)``, normalised input and ``1/sqrt(var + EPS)``."""
        if x.shape[0] == 0:
            raise ValueError(f"{self!r} needs at least one sample in training mode, got input of shape {x.shape}")
        mean = x.mean(axis=axes)
        xhat = x - mean.reshape(bshape)
        var = np.mean(np.square(xhat), axis=axes)
        inv_std = 1 / np.sqrt(var + self.EPS)
        xhat *= inv_std.reshape(bshape)
        return mean, var, xhat, inv_std

    def _moving(self, dtype):
        """The moving statistics as ``dtype`` (mean 0 and variance 1 before any training).
        Evaluation never changes them: other dtypes are converted copies."""
        if self.moving_mean is None:
            return dtype.type(0), dtype.type(1)
        return self.moving_mean.astype(dtype, copy=False), self.moving_variance.astype(dtype, copy=False)

    def updateOutput(self, input):
        x = self._match_dtype(input) if self.affine else input
        x = _as_float(x)
        axes, bshape = channel_layout(self, x.shape)
        self._check_channels(x.shape)
        if self.training:
            mean, var, xhat, inv_std = self._batch_statistics(x, axes, bshape)
            if self.moving_mean is None:
                self.moving_mean, self.moving_variance = np.zeros_like(mean), np.ones_like(var)
            moving_mean, moving_var = self._moving(x.dtype)
            a = float(self.alpha)  # a Python float keeps float32 statistics float32
            self.moving_mean = a * moving_mean + (1 - a) * mean
            self.moving_variance = a * moving_var + (1 - a) * var
            self._cache_input, self._cache_xhat, self._cache_inv_std = input, xhat, inv_std
            self.output = xhat
        else:
            moving_mean, moving_var = self._moving(x.dtype)
            inv_std = 1 / np.sqrt(moving_var + self.EPS)
            self.output = (x - self._per_channel(moving_mean, bshape)) * self._per_channel(inv_std, bshape)
            self._cache_input = self._cache_xhat = self._cache_inv_std = None
        if self.affine:  # y = gamma * xhat + beta (a new array: the cached xhat stays for backward)
            self.output = self.output * self.gamma.reshape(bshape) + self.beta.reshape(bshape)
        return self.output

    @staticmethod
    def _per_channel(value, bshape):
        return value.reshape(bshape) if np.ndim(value) else value

    def _grad_layout(self, input, gradOutput):
        """``(x, g, axes, bshape)``: the input as floats and ``gradOutput`` checked
        against it."""
        x = _as_float(self._match_dtype(input) if self.affine else input)
        axes, bshape = channel_layout(self, x.shape)
        g = np.asarray(gradOutput, dtype=x.dtype)
        if g.shape != x.shape:
            raise ValueError(f"{self!r}: gradOutput must have the input's shape {x.shape}, got {g.shape}")
        self._check_channels(x.shape)
        return x, g, axes, bshape

    def _normalised(self, input, x, axes, bshape):
        """``(xhat, inv_std)`` of the input, as the forward pass in this mode computed them."""
        if not self.training:
            moving_mean, moving_var = self._moving(x.dtype)
            inv_std = 1 / np.sqrt(moving_var + self.EPS)
            return (x - self._per_channel(moving_mean, bshape)) * self._per_channel(inv_std, bshape), inv_std
        if input is self._cache_input and self._cache_xhat is not None:
            return self._cache_xhat, self._cache_inv_std
        return self._batch_statistics(x, axes, bshape)[2:]  # not the forward input: this input's statistics

    def updateGradInput(self, input, gradOutput):
        x, g, axes, bshape = self._grad_layout(input, gradOutput)
        if self.affine:  # h = gamma * g, the gradient with respect to xhat
            g = g * self.gamma.reshape(bshape)
        if not self.training:
            _, moving_var = self._moving(x.dtype)
            self.gradInput = g * self._per_channel(1 / np.sqrt(moving_var + self.EPS), bshape)
            return self.gradInput
        xhat, inv_std = self._normalised(input, x, axes, bshape)
        g_mean = g.mean(axis=axes, keepdims=True)
        gx_mean = np.mean(g * xhat, axis=axes, keepdims=True)
        grad = g - g_mean
        grad -= xhat * gx_mean
        grad *= inv_std.reshape(bshape)
        self.gradInput = grad
        return grad

    def accGradParameters(self, input, gradOutput):
        if not self.affine:
            return
        x, g, axes, bshape = self._grad_layout(input, gradOutput)
        xhat, _ = self._normalised(input, x, axes, bshape)
        self.gradGamma += np.sum(g * xhat, axis=axes)
        self.gradBeta += np.sum(g, axis=axes)

    def extra_repr(self):
        if self.affine:
            return f"alpha={self.alpha}, affine=True, n_features={self.n_features}"
        return f"alpha={self.alpha}"


#: values per piece of a large batch that LayerNorm handles at once
_PIECE = 1 << 18


# Sums over the rows or the columns of a piece are BLAS matrix-vector products: two to
# three times as fast as ndarray.sum or einsum.
@functools.lru_cache(maxsize=32)
def _filled(n, value, dtype):
    """A read-only vector of ``n`` times ``value``."""
    vector = np.full(n, value, dtype=dtype)
    vector.flags.writeable = False
    return vector


def _column_sums(a):
    """``a.sum(axis=0)`` of a 2-D array."""
    return _filled(a.shape[0], 1, a.dtype) @ a


def _row_means(a):
    """``a.mean(axis=1)`` of a 2-D array (the sums divided by the count, as NumPy's:
    a row of equal values has exactly that mean)."""
    means = a @ _filled(a.shape[1], 1, a.dtype)
    means /= a.shape[1]
    return means


def _row_dot(a, b):
    """``sum(a * b, axis=1)`` of 2-D arrays, without the product array."""
    if hasattr(np, "vecdot"):  # NumPy >= 2.0: faster than einsum
        return np.vecdot(a, b)
    return np.einsum("ij,ij->i", a, b)


class LayerNorm(Module):
    """Normalise each sample over its last axis, then scale and shift it.

    For every row ``x`` of ``F`` values (the last axis; the input is ``(N, F)`` or
    ``(N, ..., F)``, e.g. ``(N, k, dim)`` after an :class:`Embedding`):

    .. math::

        \\mu = \\frac{1}{F} \\sum_j x_j, \\quad
        \\sigma^2 = \\frac{1}{F} \\sum_j (x_j - \\mu)^2, \\quad
        \\hat x = \\frac{x - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}}, \\quad
        y = \\gamma \\odot \\hat x + \\beta.

    Backward, with ``g = dL/dy`` and ``h = gamma * g``:

    .. math::

        \\frac{\\partial L}{\\partial x} = \\frac{h - \\operatorname{mean}(h)
            - \\hat x \\operatorname{mean}(h \\odot \\hat x)}{\\sqrt{\\sigma^2 + \\epsilon}}, \\qquad
        \\frac{\\partial L}{\\partial \\gamma} = \\sum_{\\text{rows}} g \\odot \\hat x, \\qquad
        \\frac{\\partial L}{\\partial \\beta} = \\sum_{\\text{rows}} g

    (means over the row's ``F`` values). Unlike :class:`BatchNormalization` the
    statistics are each sample's own, so training and evaluation compute the same.

    Parameters
    ----------
    n_features : int
        ``F``, the size of the last axis.
    eps : float, default=1e-5
        Added to the variance.
    affine : bool, default=True
        Whether to learn ``gamma`` and ``beta`` (PyTorch's ``elementwise_affine``);
        without them the module has no parameters.
    rng : None, int or numpy.random.Generator
        Accepted for uniformity with the other layers; the initial values are fixed.
    dtype : dtype, default=float64
        dtype of the parameters; a floating input of another dtype converts them.

    Attributes
    ----------
    gamma : ndarray of shape (n_features,) or None
        Scales, initially ones (None without ``affine``).
    beta : ndarray of shape (n_features,) or None
        Shifts, initially zeros.
    gradGamma, gradBeta : ndarrays of shape (n_features,) or None

    Notes
    -----
    A training-mode forward pass keeps ``x - mu``, ``gamma / sqrt(var + eps)`` (one row
    per sample) and ``1 / sqrt(var + eps)`` for the backward pass (which, as for every
    module, must receive that pass's input), in the arrays of the previous training
    pass when the shapes agree; after an evaluation-mode pass the backward pass
    computes them from its input. :meth:`backward` computes the input gradient and the
    parameter gradients in one pass. Weight decay does not apply to ``gamma`` and
    ``beta``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import LayerNorm
    >>> y = LayerNorm(4).forward(np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 8.0]]))
    >>> y.mean(axis=1).round(6) + 0, y.std(axis=1).round(4)
    (array([0., 0.]), array([1., 1.]))
    """

    _parameters = ("gamma", "beta")
    _gradients = ("gradGamma", "gradBeta")
    _decayed = ()
    _transient = (*Module._transient, "_kept")

    def __init__(self, n_features: int, eps: float = 1e-5, affine: bool = True, *, rng=None, dtype=np.float64):
        super().__init__()
        self.n_features = check_int("LayerNorm n_features", n_features, 1)
        if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps > 0:
            raise ValueError(f"LayerNorm eps must be a number > 0, got {eps!r}")
        self.eps = float(eps)
        self.affine = bool(affine)
        if self.affine:
            self.gamma = np.ones(self.n_features, dtype=dtype)
            self.beta = np.zeros(self.n_features, dtype=dtype)
            self.gradGamma = np.zeros_like(self.gamma)
            self.gradBeta = np.zeros_like(self.beta)
        else:  # no parameters
            self._parameters = self._gradients = ()
            self.gamma = self.beta = self.gradGamma = self.gradBeta = None
        self._kept = None  # what a training pass keeps for the backward pass
        self.reset_parameters(rng)

    @classmethod
    def infer_args(cls, sample_shape):
        """``n_features``: the last axis of a sample."""
        return {"n_features": sample_shape[-1]}

    def reset_parameters(self, rng=None):
        """``gamma = 1`` and ``beta = 0`` (``rng`` is validated, not used)."""
        as_generator(rng)
        if self.affine:
            self.gamma.fill(1)
            self.beta.fill(0)

    def output_shape(self, sample_shape):
        """The shape of one output sample: that of the input, ``(..., n_features)``."""
        if len(sample_shape) < 1 or sample_shape[-1] != self.n_features:
            raise ValueError(
                f"{self!r} takes samples of shape ({self.n_features},) or (..., {self.n_features}), "
                f"got samples of shape {tuple(sample_shape)}"
            )
        return tuple(sample_shape)

    def _rows(self, input):
        """The input as a float array ``(rows, F)``."""
        x = self._match_dtype(input) if self.affine else np.asarray(input)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        if x.ndim < 2 or x.shape[-1] != self.n_features:
            raise ValueError(
                f"{self!r} expects input of shape (n_samples, ..., {self.n_features}), got {np.shape(input)}"
            )
        return x.reshape(-1, self.n_features)

    def _pieces(self, n_rows):
        """Slices of the rows of about :data:`_PIECE` values: a large batch is handled in
        pieces whose temporaries are recycled, large enough that the fixed cost of each
        NumPy call stays small."""
        step = max(1, _PIECE // self.n_features)
        return [slice(start, start + step) for start in range(0, n_rows, step)]

    def _normalise(self, x, centred, scale):
        """Statistics of rows ``x``: write ``x - mean`` into ``centred`` and, one row per
        sample, ``gamma / sqrt(var + eps)`` into ``scale`` (a new array if None); return
        ``(scale, 1 / sqrt(var + eps))``."""
        np.subtract(x, _row_means(x)[:, None], out=centred)
        # 1 / sqrt(var + eps) = sqrt(F) / sqrt(sum of squares + F eps)
        inv_std = _row_dot(centred, centred)
        inv_std += self.n_features * self.eps
        np.sqrt(inv_std, out=inv_std)
        np.divide(self.n_features**0.5, inv_std, out=inv_std)
        gamma = self.gamma if self.affine else _filled(self.n_features, 1, x.dtype)
        return np.multiply.outer(inv_std, gamma, out=scale), inv_std

    def _forward(self, x, kept=None):
        """``y = gamma x_hat + beta`` of rows ``x`` and ``(x - mean, gamma / sqrt(var + eps),
        1 / sqrt(var + eps))``, written into ``kept`` when given. Without ``kept`` the
        output overwrites ``x - mean``."""
        centred, scale = (np.empty_like(x), None) if kept is None else kept[:2]
        inv_std = np.empty(len(x), dtype=x.dtype)
        y = centred if kept is None else np.empty_like(x)
        for rows in self._pieces(len(x)):
            piece_scale, inv_std[rows] = self._normalise(x[rows], centred[rows], None if scale is None else scale[rows])
            np.multiply(centred[rows], piece_scale, out=y[rows])  # gamma x_hat
            if self.affine:
                y[rows] += self.beta
        return y, (centred, scale, inv_std)

    def _statistics(self, x):
        """``(x - mean, gamma / sqrt(var + eps), 1 / sqrt(var + eps))`` of rows ``x``."""
        kept = (np.empty_like(x), np.empty_like(x))
        return self._forward(x, kept)[1]

    def updateOutput(self, input):
        x = np.ascontiguousarray(self._rows(input))
        if self.training:
            # the backward pass needs x - mean and gamma / sqrt(var + eps); the arrays
            # of the previous training pass are reused when they have the same shape
            kept = self._kept
            if kept is None or kept[0].shape != x.shape or kept[0].dtype != x.dtype:
                kept = (np.empty_like(x), np.empty_like(x))
            y, self._kept = self._forward(x, kept)
        else:
            y, self._kept = self._forward(x)[0], None
        self.output = y.reshape(np.shape(input))
        return self.output

    def _gradient_rows(self, gradOutput, like):
        g = np.asarray(gradOutput, dtype=like.dtype)
        if g.size != like.size or g.shape[-1:] != like.shape[-1:]:
            raise ValueError(f"{self!r}: gradOutput of shape {g.shape} does not match the input's")
        return g.reshape(like.shape)

    def backward(self, input, gradOutput, *, input_grad=True):
        """:meth:`updateGradInput` (unless ``input_grad=False``) and
        :meth:`accGradParameters` in one pass over the rows: they share ``g * (x - mean)``."""
        self.gradInput = self._backward(input, gradOutput, input_grad, self.affine)
        return self.gradInput

    def updateGradInput(self, input, gradOutput):
        self.gradInput = self._backward(input, gradOutput, True, False)
        return self.gradInput

    def accGradParameters(self, input, gradOutput):
        if self.affine:
            self._backward(input, gradOutput, False, True)

    def _backward(self, input, gradOutput, grad_input, grad_parameters):
        """The input gradient (None unless ``grad_input``), adding the parameter
        gradients when ``grad_parameters``; piece by piece.

        With ``d = x - mean``, ``s = 1 / sqrt(var + eps)`` (so ``x_hat = s d``) and
        ``S = s gamma`` per row, the input gradient of the class docstring is
        ``g S - mean(g S) - s^3 mean(g gamma d) d``, and ``dL/dgamma = sum_rows s g d``.
        """
        centred, scale, inv_std = self._kept or self._statistics(np.ascontiguousarray(self._rows(input)))
        g = self._gradient_rows(gradOutput, centred)
        grad = np.empty_like(centred) if grad_input else None
        gamma = self.gamma if self.affine else _filled(self.n_features, 1, centred.dtype)
        for rows in self._pieces(len(centred)):
            g_rows, d, s = g[rows], centred[rows], inv_std[rows]
            gd = g_rows * d
            if grad_parameters:
                self.gradGamma += s @ gd
                self.gradBeta += _column_sums(g_rows)
            if not grad_input:
                continue
            h = np.multiply(g_rows, scale[rows], out=grad[rows])
            mean_h = h @ _filled(self.n_features, 1 / self.n_features, h.dtype)
            coefficient = gd @ gamma
            coefficient *= s**3 / self.n_features
            h -= np.multiply(d, coefficient[:, None], out=gd)
            h -= mean_h[:, None]
        return None if grad is None else grad.reshape(np.shape(input))

    def extra_repr(self):
        s = str(self.n_features)
        if self.eps != 1e-5:
            s += f", eps={self.eps}"
        return s + ("" if self.affine else ", affine=False")
