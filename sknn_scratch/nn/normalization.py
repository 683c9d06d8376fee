"""Batch normalisation (``BatchNormalization``); its learned affine part is
:class:`~sknn_scratch.nn.ChannelwiseScaling` (in :mod:`.scaling`).

Axis 1 is the channel axis: on 2-D input ``(N, F)`` the module works per feature, on
4-D input ``(N, C, H, W)`` per channel, with statistics and gradients summed over every
other axis (``N, H, W``). (3-D ``(N, C, L)`` input works the same way.)
"""

from __future__ import annotations

import numbers

import numpy as np

from .module import Module

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
    """Normalise every channel to zero mean and unit variance.

    Training mode: ``y = (x - mean) / sqrt(var + EPS)`` with the mean and the biased
    variance (``numpy.var``) of the batch, per channel; each forward pass also updates,
    once, ``moving = alpha * moving + (1 - alpha) * batch_statistic`` for both
    statistics (they start at mean 0 and variance 1). Evaluation mode uses
    ``moving_mean`` and ``moving_variance`` instead and leaves them unchanged. The
    learned scale and shift are a separate :class:`ChannelwiseScaling`.

    Parameters
    ----------
    alpha : float in [0, 1], default=0.0
        Weight of the old moving statistics; 0 keeps only the last batch's.

    Attributes
    ----------
    EPS : float
        ``1e-3``, added to the variance.
    moving_mean, moving_variance : ndarray of shape (n_channels,) or None
        The running statistics, one entry per feature or channel (the seed notebook
        kept shape ``(1, F)``; ``np.ravel`` gives the same values). ``None`` until the
        first training-mode forward pass.

    Notes
    -----
    An evaluation-mode forward pass before any training batch normalises with mean 0
    and variance 1 (the initial moving statistics), i.e. returns
    ``input / sqrt(1 + EPS)``, rather than failing.

    The training-mode ``gradInput`` is the exact gradient of the batch normalisation,
    including the dependence of the batch mean and variance on every input:
    ``(g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + EPS)``. It uses the statistics
    of the last forward pass when it receives that pass's input object, and computes
    them from the given input otherwise (without touching the moving statistics).
    In evaluation mode ``gradInput = gradOutput / sqrt(moving_variance + EPS)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn.normalization import BatchNormalization
    >>> bn = BatchNormalization(alpha=0.9)
    >>> y = bn.forward(np.random.default_rng(0).normal(3.0, 2.0, size=(8, 4, 5, 5)))
    >>> bool(np.allclose(y.mean(axis=(0, 2, 3)), 0)), bn.moving_mean.shape
    (True, (4,))
    """

    EPS = 1e-3
    _buffers = ("moving_mean", "moving_variance")
    _transient = (*Module._transient, "_cache_input", "_cache_xhat", "_cache_inv_std")

    def __init__(self, alpha=0.0):
        super().__init__()
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 <= alpha <= 1:
            raise ValueError(f"BatchNormalization alpha must be a number in [0, 1], got {alpha!r}")
        self.alpha = alpha
        self.moving_mean = None
        self.moving_variance = None
        self._cache_input = self._cache_xhat = self._cache_inv_std = None

    def _check_channels(self, shape):
        if self.moving_mean is not None and shape[1] != self.moving_mean.shape[0]:
            raise ValueError(
                f"{self!r} was trained on {self.moving_mean.shape[0]} channels, got input of shape {tuple(shape)} "
                f"with {shape[1]} channels"
            )

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
        x = _as_float(input)
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
        return self.output

    @staticmethod
    def _per_channel(value, bshape):
        return value.reshape(bshape) if np.ndim(value) else value

    def updateGradInput(self, input, gradOutput):
        x = _as_float(input)
        axes, bshape = channel_layout(self, x.shape)
        g = np.asarray(gradOutput, dtype=x.dtype)
        if g.shape != x.shape:
            raise ValueError(f"{self!r}: gradOutput must have the input's shape {x.shape}, got {g.shape}")
        if not self.training:
            self._check_channels(x.shape)
            _, moving_var = self._moving(x.dtype)
            self.gradInput = g * self._per_channel(1 / np.sqrt(moving_var + self.EPS), bshape)
            return self.gradInput
        if input is self._cache_input and self._cache_xhat is not None:
            xhat, inv_std = self._cache_xhat, self._cache_inv_std
        else:  # not the forward input: the batch statistics of this input
            _, _, xhat, inv_std = self._batch_statistics(x, axes, bshape)
        g_mean = g.mean(axis=axes, keepdims=True)
        gx_mean = np.mean(g * xhat, axis=axes, keepdims=True)
        grad = g - g_mean
        grad -= xhat * gx_mean
        grad *= inv_std.reshape(bshape)
        self.gradInput = grad
        return grad

    def extra_repr(self):
        return f"alpha={self.alpha}"
