"""The first layer of a tabular network: numbers and category codes side by side."""

from __future__ import annotations

import numpy as np

from .embedding import Embedding
from .module import Module, check_int

__all__ = ["TabularInput"]


class TabularInput(Module):
    """Rows of ``n_dense`` numbers, ``n_plain`` more values and one integer code per
    categorical column, turned into one vector per row.

    The numbers ``x`` go through ``numeric`` (any module, e.g. a
    :class:`~sknn_scratch.nn.NumericEmbedding`; as they are when None); the plain values
    ``v`` (e.g. one-hot columns, which an embedding of numbers would not help) pass as
    they are. Column ``j`` of codes, ``c_j`` in ``[0, cardinalities[j])``, selects a
    learned vector of ``embedding_dim`` values from its own table; the tables are stored
    as one :class:`~sknn_scratch.nn.Embedding` (column ``j``'s codes offset by the sizes
    of the tables before it). The output is ``[numeric(x), v, e_1(c_1), ..., e_k(c_k)]``.

    Parameters
    ----------
    n_dense : int
        Numbers at the start of each row, which go through ``numeric``.
    cardinalities : sequence of int, default=()
        Size of each categorical column's table (its categories and the code for a
        missing or unseen one).
    embedding_dim : int, default=8
    numeric : Module, default=None
        Applied to the numbers (held as a sub-module: trained, copied and saved with this
        layer).
    n_plain : int, default=0
        Values after the numbers, passed as they are.
    rng : None, int or numpy.random.Generator
        Source of the embedding tables' initial vectors.
    dtype : dtype, default=float64

    Attributes
    ----------
    numeric : Module or None
    categories : Embedding or None
        The tables of the categorical columns.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import TabularInput
    >>> layer = TabularInput(2, cardinalities=[3, 5], embedding_dim=4, rng=0)
    >>> layer.forward(np.array([[0.5, -1.0, 2, 0], [0.0, 1.0, 1, 4]])).shape  # 2 numbers + 2 x 4
    (2, 10)
    >>> emb = NumericEmbedding(1, rng=0)  # 4 values per number
    >>> layer = TabularInput(1, numeric=emb, n_plain=2)
    >>> layer.forward(np.array([[0.5, 1.0, -1.0]]))[:, 4:]  # after the number's 4 values: the plain ones
    array([[ 1., -1.]])
    """

    def __init__(
        self, n_dense, cardinalities=(), embedding_dim=8, numeric=None, *, n_plain=0, rng=None, dtype=np.float64
    ):
        super().__init__()
        self.n_dense = check_int("TabularInput n_dense", n_dense, 0)
        self.n_plain = check_int("TabularInput n_plain", n_plain, 0)
        self.cardinalities = tuple(check_int("a cardinality", c, 1) for c in cardinalities)
        self.embedding_dim = check_int("TabularInput embedding_dim", embedding_dim, 1)
        if numeric is not None and not isinstance(numeric, Module):
            raise TypeError(f"numeric must be a Module or None, got {numeric!r}")
        self.numeric = numeric
        self.categories = None
        if self.cardinalities:
            self.categories = Embedding(sum(self.cardinalities), self.embedding_dim, rng=rng, dtype=dtype)
        self.offsets = np.concatenate([[0], np.cumsum(self.cardinalities)[:-1]]).astype(np.intp)

    def _parts(self):
        return [m for m in (self.numeric, self.categories) if m is not None]

    # -- a container of its two parts --------------------------------------------------------
    def leaves(self):
        return [leaf for part in self._parts() for leaf in part.leaves()]

    def zeroGradParameters(self):
        for part in self._parts():
            part.zeroGradParameters()

    def getParameters(self):
        """The parameters of its parts, in order (numbers, then categories)."""
        return [p for leaf in self.leaves() for p in leaf.getParameters()]

    def getGradParameters(self):
        return [g for leaf in self.leaves() for g in leaf.getGradParameters()]

    def train(self):
        self.training = True
        for part in self._parts():
            part.train()

    def evaluate(self):
        self.training = False
        for part in self._parts():
            part.evaluate()

    def clearState(self):
        super().clearState()
        for part in self._parts():
            part.clearState()
        return self

    def astype(self, dtype):
        for part in self._parts():
            part.astype(dtype)
        return self

    @property
    def dtype(self):
        return next((part.dtype for part in self._parts() if part.dtype is not None), None)

    def reset_parameters(self, rng=None):
        for leaf in self.leaves():
            if hasattr(leaf, "reset_parameters"):
                leaf.reset_parameters(rng)

    def output_shape(self, sample_shape):
        width = self.n_dense + self.n_plain + len(self.cardinalities)
        if tuple(sample_shape) != (width,):
            raise ValueError(f"{self!r} takes rows of {width} values, got samples of shape {tuple(sample_shape)}")
        dense = (self.n_dense,) if self.numeric is None else self.numeric.output_shape((self.n_dense,))
        return (int(np.prod(dense)) + self.n_plain + len(self.cardinalities) * self.embedding_dim,)

    # -- the passes -------------------------------------------------------------------------
    def _numbers_width(self):
        """The width of ``numeric(x)`` in the output (known after a forward pass)."""
        return self.output.shape[1] - self.n_plain - len(self.cardinalities) * self.embedding_dim

    def updateOutput(self, input):
        x = np.asarray(input)
        width = self.n_dense + self.n_plain + len(self.cardinalities)
        if x.ndim != 2 or x.shape[1] != width:
            raise ValueError(f"{self!r} takes rows of {width} values, got input of shape {x.shape}")
        dense = x[:, : self.n_dense]
        parts = [dense if self.numeric is None else self.numeric.updateOutput(dense)]
        if self.n_plain:
            parts.append(x[:, self.n_dense : self.n_dense + self.n_plain])
        if self.categories is not None:
            codes = x[:, self.n_dense + self.n_plain :]
            if not np.all((codes >= 0) & (codes < np.array(self.cardinalities)) & (codes == np.round(codes))):
                raise ValueError(f"{self!r}: category codes must be whole numbers in [0, cardinality)")
            table = self.categories.updateOutput(codes.astype(np.intp) + self.offsets)
            parts.append(table.reshape(len(x), -1))
        self.output = np.hstack(parts) if len(parts) > 1 else parts[0]
        return self.output

    def updateGradInput(self, input, gradOutput):
        x = np.asarray(input)
        width = self._numbers_width()
        grad = np.zeros(x.shape, dtype=gradOutput.dtype)  # codes have no gradient
        dense = gradOutput[:, :width]
        grad[:, : self.n_dense] = (
            dense if self.numeric is None else self.numeric.updateGradInput(x[:, : self.n_dense], dense)
        )
        grad[:, self.n_dense : self.n_dense + self.n_plain] = gradOutput[:, width : width + self.n_plain]
        self.gradInput = grad
        return grad

    def accGradParameters(self, input, gradOutput):
        x = np.asarray(input)
        width = self._numbers_width()
        if self.numeric is not None:
            self.numeric.accGradParameters(x[:, : self.n_dense], gradOutput[:, :width])
        if self.categories is not None:
            codes = x[:, self.n_dense + self.n_plain :].astype(np.intp) + self.offsets
            per_column = gradOutput[:, width + self.n_plain :].reshape(
                len(x), len(self.cardinalities), self.embedding_dim
            )
            self.categories.accGradParameters(codes, per_column)

    def extra_repr(self):
        parts = [f"n_dense={self.n_dense}"]
        if self.n_plain:
            parts.append(f"n_plain={self.n_plain}")
        if self.cardinalities:
            parts.append(f"cardinalities={list(self.cardinalities)}, embedding_dim={self.embedding_dim}")
        if self.numeric is not None:
            parts.append(f"numeric={self.numeric!r}")
        return ", ".join(parts)
