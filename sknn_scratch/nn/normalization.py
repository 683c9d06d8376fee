"""Normalisation layers.

``BatchNormalization`` normalises each channel over the batch; its learned affine part
is its own with ``affine=True``, or, as in the seed, a separate
:class:`~sknn_scratch.nn.ChannelwiseScaling` (in :mod:`.scaling`). Axis 1 is the
channel axis: on 2-D input ``(N, F)`` the module works per feature, on 4-D input
``(N, C, H, W)`` per channel, with statistics and gradients summed over every other
axis (``N, H, W``). (3-D ``(N, C, L)`` input works the same way.)

``LayerNorm``, which normalises each sample over its last axis, is in :mod:`.layernorm`.
"""

from __future__ import annotations

import numbers

import numpy as np

from .layernorm import LayerNorm  # noqa: F401  (where pickles made before look for it)
from .module import Module, as_generator, check_int

__all__ = ["BatchNormalization", "channel_layout"]


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
