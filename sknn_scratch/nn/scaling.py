"""Learned scales: per channel with a shift (the affine part of batch normalisation), and
per feature (a tabular network's front scale)."""

from __future__ import annotations

import numbers

import numpy as np

from .module import Module, as_generator, check_int
from .normalization import channel_layout

__all__ = ["ChannelwiseScaling", "FeatureScale"]


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


class FeatureScale(Module):
    """A learned scale per feature: ``y = x * s`` over the last axis.

    RealMLP's "front scale": placed before the first linear layer of a tabular network it
    lets each input column be weighted up or down by one number, which the optimizer can
    move faster than the weights of the layer behind it (RealMLP gives it a learning-rate
    factor of 6; set ``lr_factors={"scale": 6.0}`` on the instance).

    .. math::

        y_{\\ldots, j} = x_{\\ldots, j} s_j, \\qquad
        \\frac{\\partial L}{\\partial x_{\\ldots, j}} = g_{\\ldots, j} s_j, \\qquad
        \\frac{\\partial L}{\\partial s_j} = \\sum_{\\ldots} g_{\\ldots, j} x_{\\ldots, j}.

    Parameters
    ----------
    n_features : int
        Size of the input's last axis.
    init : float, default=1.0
        The initial scale of every feature (1: the layer starts as the identity).
    rng : None, int or numpy.random.Generator
        Accepted for uniformity with the other layers; the initial scales are not random.
    dtype : dtype, default=float64
        dtype of the scales; a floating input of another dtype converts them.

    Attributes
    ----------
    scale : ndarray of shape (n_features,)
    gradScale : ndarray of shape (n_features,)

    Notes
    -----
    Weight decay does not apply to the scales (``_decayed`` is empty): decay would pull
    them towards 0, switching the features off, where the neutral value is 1. RealMLP's
    reference implementation does decay them, by ``lr * weight_decay * 6**2`` per step
    (its decay multiplies the learning-rate factor in twice): a strong pull that lets
    the scales of unhelpful inputs shrink, a learned feature selection. With
    :class:`~sknn_scratch.optim.AdamW`, which decays by ``lr * weight_decay * lr_factor
    * decay_factor``, ``lr_factors={"scale": 6.0}`` and ``decay_factors={"scale":
    6.0}`` on the instance do the same (the tabular estimators set them).

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import FeatureScale
    >>> layer = FeatureScale(3)
    >>> layer.scale[...] = [1.0, 2.0, 0.5]
    >>> layer.forward(np.ones((2, 3)))
    array([[1. , 2. , 0.5],
           [1. , 2. , 0.5]])
    """

    _parameters = ("scale",)
    _gradients = ("gradScale",)
    _decayed = ()

    def __init__(self, n_features: int, *, init: float = 1.0, rng=None, dtype=np.float64):
        super().__init__()
        self.n_features = check_int("FeatureScale n_features", n_features, 1)
        if isinstance(init, bool) or not isinstance(init, numbers.Real) or not np.isfinite(init):
            raise ValueError(f"FeatureScale init must be a finite number, got {init!r}")
        self.init = float(init)
        self.scale = np.empty(self.n_features, dtype=dtype)
        self.gradScale = np.zeros_like(self.scale)
        self.reset_parameters(rng)

    @classmethod
    def infer_args(cls, sample_shape):
        """``n_features``: the last axis of a sample."""
        return {"n_features": sample_shape[-1]}

    def reset_parameters(self, rng=None):
        """Set every scale to ``init`` (``rng`` is validated, not used)."""
        as_generator(rng)
        self.scale.fill(self.init)

    def output_shape(self, sample_shape):
        """The shape of one output sample: that of the input, ``(..., n_features)``."""
        if len(sample_shape) < 1 or sample_shape[-1] != self.n_features:
            raise ValueError(
                f"{self!r} takes samples of shape ({self.n_features},) or (..., {self.n_features}), "
                f"got samples of shape {tuple(sample_shape)}"
            )
        return tuple(sample_shape)

    def _checked(self, input):
        x = self._match_dtype(input)
        if x.ndim < 2 or x.shape[-1] != self.n_features:
            raise ValueError(
                f"{self!r} expects input of shape (n_samples, ..., {self.n_features}), got {np.shape(input)}"
            )
        return x

    def updateOutput(self, input):
        self.output = self._checked(input) * self.scale
        return self.output

    def updateGradInput(self, input, gradOutput):
        self._checked(input)
        self.gradInput = np.asarray(gradOutput, dtype=self.scale.dtype) * self.scale
        return self.gradInput

    def accGradParameters(self, input, gradOutput):
        x = self._checked(input)
        g = np.asarray(gradOutput, dtype=self.scale.dtype)
        F = self.n_features
        self.gradScale += np.einsum("ij,ij->j", g.reshape(-1, F), x.reshape(-1, F))

    def extra_repr(self):
        return str(self.n_features) + ("" if self.init == 1 else f", init={self.init}")
