"""Shape-only modules: ``Flatten`` and ``Reshape``."""

from __future__ import annotations

import numpy as np

from .module import Module

__all__ = ["Flatten", "Reshape"]


class Flatten(Module):
    """Flatten each sample: ``(N, d1, d2, ...) -> (N, d1 * d2 * ...)``."""

    def updateOutput(self, input):
        self.output = input.reshape(len(input), -1)
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput.reshape(input.shape)
        return self.gradInput


class Reshape(Module):
    """Reshape each sample to ``shape`` (one entry may be -1): ``(N, ...) -> (N, *shape)``.

    Parameters
    ----------
    shape : tuple of int
    """

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(int(s) for s in shape)

    def updateOutput(self, input):
        per_sample = int(np.prod(input.shape[1:]))
        known = int(np.prod([s for s in self.shape if s != -1]))
        fits = per_sample % known == 0 if -1 in self.shape else per_sample == known
        if not fits:
            raise ValueError(
                f"Reshape{self.shape} cannot reshape samples of shape {input.shape[1:]} ({per_sample} values)"
            )
        self.output = input.reshape(len(input), *self.shape)
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput.reshape(input.shape)
        return self.gradInput

    def extra_repr(self):
        return str(self.shape)
