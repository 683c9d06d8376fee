"""Element-wise and row-wise activations.

Every activation here has no parameters and keeps the dtype of its input.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .module import Module

__all__ = ["ReLU", "Sigmoid", "Tanh", "Identity", "Exp", "SoftMax", "LogSoftmax"]


class ReLU(Module):
    """``max(input, 0)``; the gradient is passed where ``input > 0``."""

    def updateOutput(self, input):
        self.output = np.maximum(input, 0)
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput * (input > 0)
        return self.gradInput


class Sigmoid(Module):
    """The logistic function ``1 / (1 + exp(-input))`` (MLP's ``"logistic"``).

    Its derivative ``s * (1 - s)`` is computed from ``output``, which must come from
    the forward pass of the same ``input``.
    """

    def updateOutput(self, input):
        self.output = expit(input)
        return self.output

    def updateGradInput(self, input, gradOutput):
        s = self.output
        self.gradInput = gradOutput * s * (1 - s)
        return self.gradInput


class Tanh(Module):
    """Hyperbolic tangent; derivative ``1 - tanh(input)**2`` from ``output``."""

    def updateOutput(self, input):
        self.output = np.tanh(input)
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput * (1 - self.output * self.output)
        return self.gradInput


class Identity(Module):
    """Returns its input unchanged (MLP's ``"identity"`` activation)."""

    def updateOutput(self, input):
        self.output = input
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput
        return self.gradInput


class Exp(Module):
    """``exp(input)``: the inverse link of the Poisson regression head."""

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


def log_softmax(input):
    """Row-wise ``x - logsumexp(x)``, computed stably; keeps the dtype."""
    shifted = input - input.max(axis=1, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted


class SoftMax(Module):
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


class LogSoftmax(Module):
    """Row-wise ``log(softmax(x)) = x - log(sum_j exp(x_j))`` of 2-D input."""

    def updateOutput(self, input):
        _check_2d(self, input)
        self.output = log_softmax(input)
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput - np.exp(self.output) * gradOutput.sum(axis=1, keepdims=True)
        return self.gradInput
