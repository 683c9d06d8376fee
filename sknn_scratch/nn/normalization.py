"""Batch normalisation (``BatchNormalization``) and its learned affine part (``ChannelwiseScaling``).

Both work per feature on 2-D input ``(N, F)`` and per channel on 4-D input
``(N, C, H, W)`` (statistics over ``N, H, W``).
"""

from __future__ import annotations

import numpy as np

from .module import Module

__all__ = ["BatchNormalization", "ChannelwiseScaling"]


def _channel_axes(module, input):
    """Reduction axes and broadcast shape of per-channel statistics."""
    if input.ndim == 2:
        return (0,), (1, -1)
    if input.ndim == 4:
        return (0, 2, 3), (1, -1, 1, 1)
    raise ValueError(
        f"{type(module).__name__} expects 2-D (N, features) or 4-D (N, C, H, W) input, got shape {input.shape}"
    )


class BatchNormalization(Module):
    """Normalise to zero mean and unit variance with the batch statistics.

    Training: ``y = (x - mean) / sqrt(var + EPS)`` with the batch mean and (biased)
    variance, and ``moving = alpha * moving + (1 - alpha) * batch`` for both statistics.
    Evaluation: the moving statistics are used instead (mean 0 and variance 1 before the
    first training batch). The scale and shift are a separate :class:`ChannelwiseScaling`.

    Parameters
    ----------
    alpha : float, default=0.0
        Weight of the old moving statistics (0 keeps only the last batch's).

    Attributes
    ----------
    moving_mean, moving_variance : ndarray of shape (n_channels,) or None
        None until the first training batch.
    """

    EPS = 1e-3
    _buffers = ("moving_mean", "moving_variance")

    def __init__(self, alpha=0.0):
        super().__init__()
        self.alpha = alpha
        self.moving_mean = None
        self.moving_variance = None

    def updateOutput(self, input):
        axes, shape = _channel_axes(self, input)
        if self.training:
            mean = input.mean(axis=axes)
            var = input.var(axis=axes)
            if self.moving_mean is None:
                self.moving_mean = np.zeros_like(mean)
                self.moving_variance = np.ones_like(var)
            self.moving_mean = self.alpha * self.moving_mean + (1 - self.alpha) * mean
            self.moving_variance = self.alpha * self.moving_variance + (1 - self.alpha) * var
            self._cache_std = np.sqrt(var + input.dtype.type(self.EPS)).reshape(shape)
            self.output = (input - mean.reshape(shape)) / self._cache_std
        else:
            mean, std = self._eval_stats(input, shape)
            self.output = (input - mean) / std
        return self.output

    def _eval_stats(self, input, shape):
        if self.moving_mean is None:
            return input.dtype.type(0), input.dtype.type(np.sqrt(1 + self.EPS))
        mean = self.moving_mean.astype(input.dtype, copy=False).reshape(shape)
        std = np.sqrt(self.moving_variance.astype(input.dtype, copy=False) + input.dtype.type(self.EPS)).reshape(shape)
        return mean, std

    def updateGradInput(self, input, gradOutput):
        axes, shape = _channel_axes(self, input)
        if not self.training:
            self.gradInput = gradOutput / self._eval_stats(input, shape)[1]
            return self.gradInput
        # d/dx of (x - mean)/std with batch mean and variance:
        # (g - mean(g) - xhat * mean(g * xhat)) / std, xhat = the normalised output
        xhat = self.output
        g = gradOutput
        self.gradInput = (g - g.mean(axis=axes, keepdims=True) - xhat * (g * xhat).mean(axis=axes, keepdims=True)) / (
            self._cache_std
        )
        return self.gradInput

    def extra_repr(self):
        return f"alpha={self.alpha}"


class ChannelwiseScaling(Module):
    """Learned per-channel scale and shift ``y = gamma * x + beta``.

    Parameters
    ----------
    n_out : int
        Number of features (2-D input) or channels (4-D input).
    dtype : dtype, default=float64
    """

    _parameters = ("gamma", "beta")
    _gradients = ("gradGamma", "gradBeta")

    def __init__(self, n_out, *, dtype=np.float64):
        super().__init__()
        self.n_out = int(n_out)
        self.gamma = np.ones(self.n_out, dtype=dtype)
        self.beta = np.zeros(self.n_out, dtype=dtype)
        self.gradGamma = np.zeros_like(self.gamma)
        self.gradBeta = np.zeros_like(self.beta)

    @classmethod
    def infer_args(cls, sample_shape):
        """The channel count of samples shaped ``(C,)`` or ``(C, H, W)``."""
        return {"n_out": sample_shape[0]}

    def _shape(self, input):
        axes, shape = _channel_axes(self, input)
        if input.shape[1] != self.n_out:
            raise ValueError(
                f"ChannelwiseScaling({self.n_out}) got {input.shape[1]} channels (input shape {input.shape})"
            )
        return axes, shape

    def updateOutput(self, input):
        input = self._match_dtype(input)
        _, shape = self._shape(input)
        self.output = input * self.gamma.reshape(shape) + self.beta.reshape(shape)
        return self.output

    def updateGradInput(self, input, gradOutput):
        _, shape = self._shape(input)
        self.gradInput = gradOutput * self.gamma.reshape(shape)
        return self.gradInput

    def accGradParameters(self, input, gradOutput):
        axes, _ = self._shape(input)
        self.gradGamma += (gradOutput * input).sum(axis=axes)
        self.gradBeta += gradOutput.sum(axis=axes)

    def extra_repr(self):
        return str(self.n_out)
