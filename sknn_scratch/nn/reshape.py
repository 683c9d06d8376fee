"""Shape-only modules: ``Flatten`` and ``Reshape``.

Both keep the first (sample) axis, return views when the memory layout allows, keep
the input's dtype, and reshape ``gradOutput`` back to the input's shape.
"""

from __future__ import annotations

import numbers
from math import prod

import numpy as np

from .module import Module

__all__ = ["Flatten", "Reshape"]


def _grad_back(module, input, gradOutput):
    shape = np.shape(input)
    g = np.asarray(gradOutput)
    if g.size != prod(shape):
        raise ValueError(
            f"{module!r}: gradOutput of shape {g.shape} ({g.size} values) cannot be reshaped to the input shape "
            f"{tuple(shape)} ({prod(shape)} values)"
        )
    return g.reshape(shape)


class Flatten(Module):
    """Flatten each sample: ``(N, d1, d2, ...) -> (N, d1 * d2 * ...)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn.reshape import Flatten
    >>> Flatten().forward(np.zeros((5, 2, 3, 4))).shape
    (5, 24)
    """

    def output_shape(self, sample_shape):
        """``(prod(sample_shape),)``."""
        return (prod(sample_shape),)

    def updateOutput(self, input):
        x = np.asarray(input)
        if x.ndim < 1:
            raise ValueError(f"{self!r} expects input of shape (n_samples, ...), got a scalar")
        self.output = x.reshape(x.shape[0], prod(x.shape[1:]))
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = _grad_back(self, input, gradOutput)
        return self.gradInput


class Reshape(Module):
    """Reshape each sample to ``shape``: ``(N, ...) -> (N, *shape)``.

    Parameters
    ----------
    shape : int or tuple of int
        The shape of one output sample; one entry may be ``-1`` (inferred).

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn.reshape import Reshape
    >>> Reshape((1, 8, 8)).forward(np.zeros((3, 64))).shape
    (3, 1, 8, 8)
    >>> Reshape((-1, 4)).forward(np.zeros((3, 2, 6))).shape
    (3, 3, 4)
    """

    def __init__(self, shape):
        super().__init__()
        if isinstance(shape, numbers.Integral):
            shape = (shape,)
        try:
            dims = tuple(shape)
        except TypeError:
            raise ValueError(f"Reshape shape must be a tuple of integers, got {shape!r}") from None
        if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= -1 for d in dims):
            raise ValueError(f"Reshape shape must be a tuple of integers >= 0 (or one -1), got {shape!r}")
        dims = tuple(int(d) for d in dims)
        if dims.count(-1) > 1:
            raise ValueError(f"Reshape shape may contain at most one -1, got {dims}")
        self.shape = dims

    def _target(self, sample_shape):
        size = prod(sample_shape)
        if -1 in self.shape:
            known = prod(d for d in self.shape if d != -1)
            if known == 0 or size % known:
                raise ValueError(
                    f"{self!r} cannot reshape samples of shape {tuple(sample_shape)} ({size} values) to {self.shape}"
                )
            return tuple(size // known if d == -1 else d for d in self.shape)
        if prod(self.shape) != size:
            raise ValueError(
                f"{self!r} cannot reshape samples of shape {tuple(sample_shape)} ({size} values) to {self.shape} "
                f"({prod(self.shape)} values)"
            )
        return self.shape

    def output_shape(self, sample_shape):
        """``shape`` (its -1 resolved) for samples of as many values."""
        return tuple(self._target(tuple(sample_shape)))

    def updateOutput(self, input):
        x = np.asarray(input)
        if x.ndim < 1:
            raise ValueError(f"{self!r} expects input of shape (n_samples, ...), got a scalar")
        self.output = x.reshape((x.shape[0], *self._target(x.shape[1:])))
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = _grad_back(self, input, gradOutput)
        return self.gradInput

    def extra_repr(self):
        return str(self.shape)
