"""Inverted dropout."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .module import Module, as_generator

__all__ = ["Dropout"]

#: the resolution of the uniform draws of a mask: 16 bits
_LEVELS = 1 << 16


class Dropout(Module):
    """Zero each input element with probability ``p`` during training.

    Inverted dropout: in training mode ``output = input * mask`` with
    ``mask = (u >= q) / (1 - q)`` for ``u`` uniform on ``{0, 1/65536, ..., 65535/65536}``
    drawn from ``rng`` and ``q``, the probability of a drop, ``p`` rounded to a multiple
    of 1/65536 (within 8e-6 of it) and at most 65535/65536. The expected output equals the
    input and evaluation mode is the identity (no rescaling).

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
    The draws are 16-bit integers, four from each 64-bit integer the generator draws,
    so a mask costs less than half as much as one of float32 uniform numbers. They are
    the same whatever the input dtype, so a float32 and a float64 network with the same
    ``rng`` drop the same elements.

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
            self.mask = self._new_mask(x.shape, x.dtype)
            self.output = x * self.mask
        else:
            self.mask = None
            self.output = x
        return self.output

    def _new_mask(self, shape, dtype):
        """``(u >= q) / (1 - q)``: ``u`` 16-bit draws read as multiples of 1/65536, four
        from each 64-bit integer drawn, and ``q`` ``p`` rounded to such a multiple (at most
        65535 of them: a share of 1 would keep nothing)."""
        size = math.prod(shape)
        draws = self.rng.integers(0, 1 << 64, size=-(-size // 4), dtype=np.uint64).view(np.uint16)[:size]
        threshold = min(round(float(self.p) * _LEVELS), _LEVELS - 1)
        mask = (draws >= threshold).reshape(shape).astype(dtype)
        mask *= _LEVELS / (_LEVELS - threshold)  # a Python float keeps the dtype
        return mask

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
