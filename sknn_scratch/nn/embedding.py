"""Learned vectors looked up by integer code (categorical features, tokens)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .module import Module, as_generator, check_int

__all__ = ["Embedding"]


class Embedding(Module):
    """A table ``W`` of ``n_categories`` learned vectors of size ``dim``, looked up by code.

    Codes of shape ``(N,)`` give ``(N, dim)``; codes ``(N, k)`` (``k`` categorical
    columns, or ``k`` tokens) give ``(N, k, dim)``:

    .. math::

        y[n, \\ldots, :] = W[c[n, \\ldots], :], \\qquad
        \\frac{\\partial L}{\\partial W[v, :]} = \\sum_{(n, \\ldots) : c[n, \\ldots] = v} g[n, \\ldots, :],

    so a code that occurs several times in a batch accumulates the gradients of all its
    occurrences (a sparse one-hot matrix product adds them).

    Parameters
    ----------
    n_categories : int
        Size of the table: codes are integers in ``[0, n_categories)``.
    dim : int
        Size of each vector.
    rng : None, int or numpy.random.Generator
        Source of the initial vectors, drawn from ``N(0, 1)`` (PyTorch's default).
    dtype : dtype, default=float64
        dtype of the table; floating codes of another dtype (float32 or wider) convert it.

    Attributes
    ----------
    W : ndarray of shape (n_categories, dim)
    gradW : ndarray of shape (n_categories, dim)

    Notes
    -----
    The codes may be an integer array or a floating one holding whole numbers (the
    estimators pass ``X`` as floats). A code outside ``[0, n_categories)``, a fraction, NaN
    or infinity is a ``ValueError``.

    The output does not depend smoothly on the codes, so there is no input gradient:
    ``gradInput`` is an array of zeros shaped like the codes (in the table's dtype),
    which a layer before the embedding (a :class:`Reshape`, say) can pass on as usual.

    Weight decay applies to the table (``_decayed = ("W",)``).

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import Embedding
    >>> emb = Embedding(10, 3, rng=0)
    >>> emb.forward(np.array([[1, 4], [4, 9]])).shape
    (2, 2, 3)
    >>> bool(np.array_equal(emb.output[0, 1], emb.W[4]))
    True
    """

    _parameters = ("W",)
    _gradients = ("gradW",)
    _decayed = ("W",)

    def __init__(self, n_categories: int, dim: int, *, rng=None, dtype=np.float64):
        super().__init__()
        self.n_categories = check_int("Embedding n_categories", n_categories, 1)
        self.dim = check_int("Embedding dim", dim, 1)
        self.W = np.empty((self.n_categories, self.dim), dtype=dtype)
        self.gradW = np.zeros_like(self.W)
        self.reset_parameters(rng)

    @classmethod
    def infer_args(cls, sample_shape):
        """Nothing: the number of categories and the size of the vectors are choices."""
        return {}

    def reset_parameters(self, rng=None):
        """Draw new vectors from ``N(0, 1)`` in place."""
        self.W[...] = as_generator(rng).standard_normal(self.W.shape)

    def output_shape(self, sample_shape):
        """``(dim,)`` for scalar codes, ``(k, dim)`` for ``k`` codes per sample."""
        if len(sample_shape) > 1:
            raise ValueError(f"{self!r} takes samples of shape () or (k,), got samples of shape {tuple(sample_shape)}")
        return (*sample_shape, self.dim)

    def _codes(self, input):
        """The codes as an ``intp`` array, checked."""
        x = np.asarray(input)
        if x.ndim not in (1, 2):
            raise ValueError(f"{self!r} expects codes of shape (n_samples,) or (n_samples, k), got {x.shape}")
        if x.dtype.kind == "f":
            self._match_dtype(x)  # floating codes set the table's dtype, as any input does
            if not np.all(np.floor(x) == x):  # also false for NaN
                bad = x[np.floor(x) != x].flat[0]
                raise ValueError(f"{self!r}: codes must be whole numbers, got {float(bad)}")
        elif x.dtype.kind not in "iub":
            raise TypeError(f"{self!r}: codes must be integers (or whole floats), got an array of dtype {x.dtype}")
        if x.size and (x.min() < 0 or x.max() >= self.n_categories):
            raise ValueError(
                f"{self!r}: codes must be integers in [0, {self.n_categories}), got values in [{x.min()}, {x.max()}]"
            )
        return x.astype(np.intp, copy=False)

    def updateOutput(self, input):
        codes = self._codes(input)  # first: floating codes may convert the table
        self.output = np.take(self.W, codes, axis=0)
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = np.zeros(np.shape(input), dtype=self.W.dtype)
        return self.gradInput

    def accGradParameters(self, input, gradOutput):
        codes = self._codes(input).reshape(-1)
        g = np.asarray(gradOutput, dtype=self.W.dtype)
        if g.shape != (*np.shape(input), self.dim):
            raise ValueError(f"{self!r}: gradOutput must have shape {(*np.shape(input), self.dim)}, got {g.shape}")
        m = codes.size
        # one-hot matrix (n_categories, m), one entry per column: its product with the
        # gradient rows adds every occurrence of a code into that code's row
        onehot = sp.csc_array((np.ones(m, dtype=g.dtype), codes, np.arange(m + 1)), shape=(self.n_categories, m))
        self.gradW += onehot @ g.reshape(m, self.dim)

    def extra_repr(self):
        return f"{self.n_categories}, {self.dim}"
