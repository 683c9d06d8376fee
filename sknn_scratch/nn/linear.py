"""Fully connected layer: ``output = input @ W.T + b``."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .init import get_initializer
from .module import Module, as_generator

__all__ = ["Linear"]


class Linear(Module):
    """Affine map of 2-D input ``(n_samples, n_in)`` to ``(n_samples, n_out)``.

    Parameters
    ----------
    n_in, n_out : int
        Input and output sizes.
    bias : bool, default=True
        Whether to learn the offset ``b``.
    init : str or callable, default="uniform"
        Weight initialiser (see :mod:`sknn_scratch.nn.init`). The default is Torch7's
        ``U(-1/sqrt(n_in), 1/sqrt(n_in))``, also used for ``b``.
    rng : None, int or numpy.random.Generator
        Source of the initial weights.
    dtype : dtype, default=float64
        dtype of the parameters; a floating input of another dtype converts them.

    Attributes
    ----------
    W : ndarray of shape (n_out, n_in)
        Column-major (``W.T`` is C-contiguous); any layout assigned to it works.
    b : ndarray of shape (n_out,)
    gradW, gradb : ndarrays shaped like ``W`` and ``b``

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import Linear
    >>> layer = Linear(3, 2, rng=0)
    >>> layer.forward(np.ones((4, 3))).shape
    (4, 2)
    """

    _parameters = ("W", "b")
    _gradients = ("gradW", "gradb")
    #: weight decay applies to the weights, not to the offsets
    _decayed = ("W",)

    def __init__(self, n_in, n_out, *, bias=True, init="uniform", rng=None, dtype=np.float64):
        super().__init__()
        n_in, n_out = int(n_in), int(n_out)
        if n_in < 1 or n_out < 1:
            raise ValueError(f"Linear needs n_in >= 1 and n_out >= 1, got n_in={n_in}, n_out={n_out}")
        self.n_in, self.n_out = n_in, n_out
        self.bias = bool(bias)
        self.init = init
        # stored column-major, so that W.T, the (n_in, n_out) matrix of the forward
        # product, is C-contiguous (BLAS multiplies such operands fastest)
        self.W = np.empty((n_out, n_in), dtype=dtype, order="F")
        self.b = np.zeros(n_out, dtype=dtype)
        self.gradW = np.zeros_like(self.W)
        self.gradb = np.zeros_like(self.b)
        self.reset_parameters(rng)

    @classmethod
    def infer_args(cls, sample_shape):
        """``n_in``: the size of a (flattened) sample."""
        return {"n_in": int(np.prod(sample_shape))}

    def output_shape(self, sample_shape):
        """``(n_out,)`` for samples of shape ``(n_in,)``."""
        if tuple(sample_shape) != (self.n_in,):
            raise ValueError(
                f"{self!r} takes samples of shape ({self.n_in},), got samples of shape {tuple(sample_shape)}"
            )
        return (self.n_out,)

    def reset_parameters(self, rng=None):
        """Draw new initial weights (and offsets when ``bias``) in place."""
        rng = as_generator(rng)
        fn = get_initializer(self.init)
        dtype = self.W.dtype
        self.W[...] = fn(rng, (self.n_in, self.n_out), self.n_in, self.n_out, dtype).T
        if self.bias:
            self.b[...] = fn(rng, (self.n_out,), self.n_in, self.n_out, dtype)
        else:
            self.b.fill(0)

    def updateOutput(self, input):
        if sp.issparse(input):  # sparse rows (CSR/CSC) enter the first layer as they are
            if input.dtype != self.W.dtype:
                input = input.astype(self.W.dtype)
        elif not isinstance(input, np.ndarray) or input.dtype != self.W.dtype:
            input = self._match_dtype(input)
        if input.ndim != 2 or input.shape[1] != self.n_in:
            raise ValueError(
                f"Linear({self.n_in}, {self.n_out}) expects input of shape (n_samples, {self.n_in}), got {input.shape}"
            )
        out = input @ self.W.T
        if self.bias:
            out += self.b
        self.output = out
        return out

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput @ self.W
        return self.gradInput

    def accGradParameters(self, input, gradOutput):
        # gradW += gradOutput.T @ input, computed as (input.T @ gradOutput).T: the
        # product then comes out in W's column-major layout
        if sp.issparse(input):
            self.gradW += np.asarray(input.T @ gradOutput).T
        else:
            self.gradW += (input.T @ gradOutput).T
        if self.bias:
            self.gradb += gradOutput.sum(axis=0)

    def extra_repr(self):
        return f"{self.n_in}, {self.n_out}" + ("" if self.bias else ", bias=False")
