"""Inverted dropout."""

from __future__ import annotations

from .module import Module, as_generator

__all__ = ["Dropout"]


class Dropout(Module):
    """Zero each input element with probability ``p`` during training.

    Kept elements are scaled by ``1 / (1 - p)`` so that evaluation (where the module
    is the identity) needs no rescaling. The mask of the last training forward is kept
    in ``mask`` and :meth:`updateGradInput` uses exactly that mask.

    Parameters
    ----------
    p : float in [0, 1), default=0.5
        Probability of dropping an element.
    rng : None, int or numpy.random.Generator
        Source of the masks (stored as ``rng``).
    """

    def __init__(self, p=0.5, *, rng=None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout probability p must be in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = as_generator(rng)
        self.mask = None

    def updateOutput(self, input):
        if self.training and self.p > 0:
            keep = self.rng.random(input.shape) >= self.p  # same mask for float32 and float64
            self.mask = keep.astype(input.dtype) * input.dtype.type(1.0 / (1.0 - self.p))
            self.output = input * self.mask
        else:
            self.mask = None
            self.output = input
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput if self.mask is None else gradOutput * self.mask
        return self.gradInput

    def extra_repr(self):
        return f"p={self.p}"
