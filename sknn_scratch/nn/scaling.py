"""Learned per-channel scale and shift (the affine part of batch normalisation)."""

from __future__ import annotations

import numbers

import numpy as np

from .module import Module
from .normalization import channel_layout

__all__ = ["ChannelwiseScaling"]


class ChannelwiseScaling(Module):
    """Learned per-channel scale and shift: ``y = gamma * x + beta``.

    Works per feature on 2-D input ``(N, F)`` and per channel on 4-D input
    ``(N, C, H, W)``, as :class:`BatchNormalization` before it does.

    Parameters
    ----------
    n_out : int
        Number of features (2-D input) or channels (4-D input).
    dtype : dtype, default=float64
        dtype of the parameters; a floating input of another dtype converts them.

    Attributes
    ----------
    gamma : ndarray of shape (n_out,)
        Scales, initially ones.
    beta : ndarray of shape (n_out,)
        Shifts, initially zeros.
    gradGamma, gradBeta : ndarrays of shape (n_out,)
        Accumulated gradients; zeros from construction on.
    """

    _parameters = ("gamma", "beta")
    _gradients = ("gradGamma", "gradBeta")

    def __init__(self, n_out, *, dtype=np.float64):
        super().__init__()
        if isinstance(n_out, bool) or not isinstance(n_out, numbers.Integral) or n_out < 1:
            raise ValueError(f"ChannelwiseScaling n_out must be an integer >= 1, got {n_out!r}")
        self.n_out = int(n_out)
        self.gamma = np.ones(self.n_out, dtype=dtype)
        self.beta = np.zeros(self.n_out, dtype=dtype)
        self.gradGamma = np.zeros_like(self.gamma)
        self.gradBeta = np.zeros_like(self.beta)

    @classmethod
    def infer_args(cls, sample_shape):
        """The channel count of samples shaped ``(C,)`` or ``(C, H, W)``."""
        return {"n_out": sample_shape[0]}

    def _layout(self, shape):
        axes, bshape = channel_layout(self, shape)
        if shape[1] != self.n_out:
            raise ValueError(
                f"{self!r} expects {self.n_out} features/channels on axis 1, got input of shape {tuple(shape)}"
            )
        return axes, bshape

    def output_shape(self, sample_shape):
        """The shape of one output sample: that of the input, ``(n_out,)`` or ``(n_out, ...)``."""
        if len(sample_shape) < 1 or sample_shape[0] != self.n_out:
            raise ValueError(
                f"{self!r} takes samples of shape ({self.n_out},) or ({self.n_out}, ...), "
                f"got samples of shape {tuple(sample_shape)}"
            )
        return tuple(sample_shape)

    def updateOutput(self, input):
        x = np.asarray(input)
        _, bshape = self._layout(x.shape)
        x = self._match_dtype(x)
        self.output = x * self.gamma.reshape(bshape) + self.beta.reshape(bshape)
        return self.output

    def updateGradInput(self, input, gradOutput):
        _, bshape = self._layout(np.shape(input))
        self.gradInput = np.asarray(gradOutput, dtype=self.gamma.dtype) * self.gamma.reshape(bshape)
        return self.gradInput

    def accGradParameters(self, input, gradOutput):
        axes, _ = self._layout(np.shape(input))
        x = self._match_dtype(input)
        g = np.asarray(gradOutput, dtype=self.gamma.dtype)
        self.gradGamma += np.sum(g * x, axis=axes)
        self.gradBeta += np.sum(g, axis=axes)

    def extra_repr(self):
        return str(self.n_out)
