"""Inverted dropout."""

from __future__ import annotations

import numbers

import numpy as np

from .module import Module, as_generator

__all__ = ["Dropout"]


class Dropout(Module):
    """Zero each input element with probability ``p`` during training.

    Inverted dropout: in training mode ``output = input * mask`` with
    ``mask = (u >= p) / (1 - p)`` for ``u ~ U[0, 1)`` drawn from ``rng``, so that the
    expected output equals the input and evaluation mode is the identity (no rescaling).

    Parameters
    ----------
    p : float in [0, 1), default=0.5
        Probability of dropping an element. ``p=0`` is the identity (no draws).
    rng : None, int or numpy.random.Generator
        Source of the masks, stored as the attribute ``rng`` (the global NumPy random
        state is never used). A deep copy of the module replays the same masks.

    Attributes
    ----------
    mask : ndarray or None
        The mask of the last training-mode forward pass, in the input's dtype;
        ``None`` after an evaluation-mode pass (or with ``p=0``).
        :meth:`updateGradInput` always uses this mask, never a new draw, so the gradient
        belongs to the forward pass that produced the loss.

    Notes
    -----
    The uniform numbers are drawn in float32 whatever the input dtype, so a float32 and
    a float64 network with the same ``rng`` drop the same elements.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn.dropout import Dropout
    >>> d = Dropout(0.5, rng=0)
    >>> y = d.forward(np.ones((2, 4)))
    >>> sorted(set(y.ravel().tolist())) == sorted(set(d.mask.ravel().tolist()))
    True
    """

    _transient = (*Module._transient, "mask")

    def __init__(self, p=0.5, *, rng=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p < 1:
            raise ValueError(f"Dropout probability p must be a number in [0, 1), got {p!r}")
        self.p = p
        self.rng = as_generator(rng)
        self.mask = None

    def output_shape(self, sample_shape):
        """The shape of one output sample: that of the input."""
        return tuple(sample_shape)

    def updateOutput(self, input):
        x = np.asarray(input)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        if self.training and self.p > 0:
            keep = self.rng.random(x.shape, dtype=np.float32) >= self.p
            mask = keep.astype(x.dtype)
            mask *= 1.0 / (1.0 - float(self.p))  # a Python float keeps the dtype
            self.mask = mask
            self.output = x * mask
        else:
            self.mask = None
            self.output = x
        return self.output

    def updateGradInput(self, input, gradOutput):
        g = np.asarray(gradOutput)
        if self.mask is None:
            self.gradInput = g
        else:
            if g.shape != self.mask.shape:
                raise ValueError(
                    f"{self!r}: gradOutput of shape {g.shape} does not match the mask of the last forward pass "
                    f"{self.mask.shape}"
                )
            self.gradInput = g * self.mask
        return self.gradInput

    def extra_repr(self):
        return f"p={self.p}"
