"""The classic activations: element-wise ReLU, logistic, tanh, identity and exp, and the
row-wise softmax and log-softmax.

Every activation here keeps the dtype of its input and has no parameters. The
activations of modern networks (GELU, SiLU, Mish, ELU, SELU, leaky and parametric
ReLU, softplus) are in :mod:`sknn_scratch.nn.modern_activation`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .module import Module

__all__ = ["ReLU", "Sigmoid", "Tanh", "Identity", "Exp", "SoftMax", "LogSoftmax", "log_softmax"]


class _Elementwise(Module):
    """An element-wise activation that can work in place.

    With ``inplace=True`` the forward pass overwrites its input and the backward pass
    its ``gradOutput`` when that is C-contiguous (saving two allocations per call; a
    strided ``gradOutput`` is left alone, a new array being faster). Use it only where nobody
    needs those arrays afterwards, e.g. right after a :class:`Linear` or
    :class:`Conv2d` layer inside a :class:`Sequential` (the estimators do this).
    """

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = bool(inplace)

    def _fn(self, x, out):
        raise NotImplementedError

    def _derivative_times(self, gradOutput, out):
        """``gradOutput * f'(input)`` written into ``out`` (or a new array if None)."""
        raise NotImplementedError

    def updateOutput(self, input):
        input = np.asarray(input)
        if self.inplace and input.flags.writeable and input.dtype.kind == "f":
            self.output = self._fn(input, input)
        else:
            self.output = self._fn(input, None)
        return self.output

    def updateGradInput(self, input, gradOutput):
        # in place only into a contiguous gradient: from a strided view (e.g. Conv2d's
        # input gradient) a new contiguous array is faster to write
        inplace = self.inplace and gradOutput.flags.writeable and gradOutput.flags.c_contiguous
        out = gradOutput if inplace else None
        self.gradInput = self._derivative_times(gradOutput, out)
        return self.gradInput

    def output_shape(self, sample_shape):
        """The shape of one output sample: that of the input."""
        return tuple(sample_shape)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ReLU(_Elementwise):
    """``max(input, 0)``; the gradient is passed where the output is positive."""

    def updateOutput(self, input):
        x = np.asarray(input)
        inplace = self.inplace and x.flags.writeable and x.dtype.kind == "f"
        self.output = np.maximum(x, 0, out=x if inplace else None)
        return self.output

    def updateGradInput(self, input, gradOutput):
        # in place only into a contiguous gradient (see _Elementwise)
        inplace = self.inplace and gradOutput.flags.writeable and gradOutput.flags.c_contiguous
        self.gradInput = np.multiply(gradOutput, self.output > 0, out=gradOutput if inplace else None)
        return self.gradInput


class Sigmoid(_Elementwise):
    """The logistic function ``1 / (1 + exp(-input))`` (MLP's ``"logistic"``).

    Its derivative ``s * (1 - s)`` is computed from ``output``, which must come from
    the forward pass of the same ``input``.
    """

    def _fn(self, x, out):
        return expit(x, out=out) if out is not None else expit(x)

    def _derivative_times(self, gradOutput, out):
        s = self.output
        return np.multiply(gradOutput, s * (1 - s), out=out)


class Tanh(_Elementwise):
    """Hyperbolic tangent; derivative ``1 - tanh(input)**2`` from ``output``."""

    def _fn(self, x, out):
        return np.tanh(x, out=out)

    def _derivative_times(self, gradOutput, out):
        return np.multiply(gradOutput, 1 - self.output * self.output, out=out)


class Identity(Module):
    """Returns its input unchanged (MLP's ``"identity"`` activation)."""

    def output_shape(self, sample_shape):
        """The shape of one output sample: that of the input."""
        return tuple(sample_shape)

    def updateOutput(self, input):
        self.output = input
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput
        return self.gradInput


class Exp(Module):
    """``exp(input)``: the inverse link of the Poisson regression head."""

    def output_shape(self, sample_shape):
        """The shape of one output sample: that of the input."""
        return tuple(sample_shape)

    def updateOutput(self, input):
        self.output = np.exp(input)
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput * self.output
        return self.gradInput


def _check_2d(module, input):
    if np.ndim(input) != 2:
        raise ValueError(
            f"{type(module).__name__} expects 2-D input (batch_size, n_feats), got shape {np.shape(input)}"
        )


class _RowWise(Module):
    """A function of each row of 2-D input."""

    def output_shape(self, sample_shape):
        """The shape of one output sample: that of the input, which must be ``(n_features,)``."""
        if len(sample_shape) != 1:
            raise ValueError(
                f"{self!r} takes samples of shape (n_features,), got samples of shape {tuple(sample_shape)}"
            )
        return tuple(sample_shape)


def log_softmax(input):
    """Row-wise ``x - logsumexp(x)``, computed stably; keeps the dtype."""
    shifted = input - input.max(axis=1, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted


class SoftMax(_RowWise):
    """Row-wise softmax ``exp(x_i) / sum_j exp(x_j)`` of 2-D input.

    The gradient uses the closed form ``s * (g - sum(g * s))`` for each row instead of
    an explicit Jacobian per sample.
    """

    def updateOutput(self, input):
        _check_2d(self, input)
        self.output = np.exp(log_softmax(input))
        return self.output

    def updateGradInput(self, input, gradOutput):
        s = self.output
        self.gradInput = s * (gradOutput - (gradOutput * s).sum(axis=1, keepdims=True))
        return self.gradInput


class LogSoftmax(_RowWise):
    """Row-wise ``log(softmax(x)) = x - log(sum_j exp(x_j))`` of 2-D input."""

    def updateOutput(self, input):
        _check_2d(self, input)
        self.output = log_softmax(input)
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput - np.exp(self.output) * gradOutput.sum(axis=1, keepdims=True)
        return self.gradInput
