"""Embeddings of numeric columns: each of ``F`` columns mapped on its own to a small vector.

A plain network sees a numeric column through one weight per unit, a linear function of
the value; tabular networks learn better when each value first becomes a vector of
features that vary with it in more ways (Gorishniy, Rubachev & Babenko, "On Embeddings
for Numerical Features in Tabular Deep Learning", 2022). :class:`NumericEmbedding` offers
the three kinds that work best there and in RealMLP (Holzmueller et al., 2024):

* ``"pbld"`` (RealMLP's default: periodic, bias, linear, densenet): learned cosines of the
  value, a linear map of them, and the value itself;
* ``"periodic"`` (Gorishniy et al.'s PLR): learned cosines and sines, a linear map, a ReLU;
* ``"piecewise_linear"`` (their PLE): where the value lies among fixed bin edges (quantiles
  of the training data), optionally followed by a linear map.

Every column has its own parameters; the per-column linear maps are one batched matrix
product over a stacked weight array ``(F, k, d)``, not a loop over columns.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._bins import bin_lines, checked_edges, quantile_edges
from ._kernels import scratch, sum_over_samples
from .module import Module, as_generator, check_int

__all__ = ["NumericEmbedding"]

KINDS = ("pbld", "periodic", "piecewise_linear")
_TWO_PI = 2 * np.pi


class NumericEmbedding(Module):
    """Embed each of ``n_features`` numeric columns separately: ``(N, F) -> (N, F * d)``.

    The output holds the ``d`` values of column 0, then those of column 1, and so on:
    ``output.reshape(N, F, d)[:, j]`` is the embedding of column ``j``. For column ``j``
    with value ``x`` (the index ``j`` is dropped from the parameters below, each column
    having its own):

    ``kind="pbld"`` (``d = dim``): ``K = n_frequencies`` learned frequencies ``w`` and
    phases ``p``, a linear map ``W`` of shape ``(K, dim - 1)`` with offsets ``b``, and the
    value appended:

    .. math::

        h_k = \\cos(2 \\pi w_k x + p_k), \\qquad e = h W + b, \\qquad y = [e, x].

    ``kind="periodic"`` (``d = dim``): ``K / 2`` learned frequencies, their cosines and
    sines, a linear map ``W`` of shape ``(K, dim)`` with offsets, and a ReLU:

    .. math::

        h = [\\cos(2 \\pi w x), \\sin(2 \\pi w x)], \\qquad y = \\max(h W + b, 0).

    ``kind="piecewise_linear"``: bin edges ``e_0 < ... < e_T`` of the column (``edges``)
    give ``T`` values, how far ``x`` has crossed each bin,

    .. math::

        h_t = \\operatorname{clip}\\Big(\\frac{x - e_{t-1}}{e_t - e_{t-1}}, 0, 1\\Big),
        \\quad t = 1, \\ldots, T,

    except that ``h_1`` is not clipped below 0 and ``h_T`` not above 1 (the outer bins
    are open-ended, so values beyond the training range stay distinguishable; a single
    bin is not clipped at all). With ``dim=None`` the output is ``h`` (``d = T``);
    otherwise ``y = h W + b`` with ``W`` of shape ``(T, dim)`` (``d = dim``, no
    activation). Columns with fewer bins than the largest ``T`` are padded with zeros
    at the end (padded values are always 0 and get no gradient).

    Backward, with ``g = dL/dy`` split the same way: ``dL/dW = h^T g_e``,
    ``dL/db = sum(g_e)`` over samples, ``g_h = g_e W^T``; for ``"pbld"``
    ``dL/dz_k = -sin(z_k) g_{h,k}`` with ``z_k = 2 pi w_k x + p_k``, hence
    ``dL/dw_k = sum 2 pi x dL/dz_k``, ``dL/dp_k = sum dL/dz_k`` and
    ``dL/dx = sum_k 2 pi w_k dL/dz_k + g_x`` (``g_x`` the gradient of the appended value);
    ``"periodic"`` the same with ``-sin`` for the cosines and ``cos`` for the sines, after
    the ReLU's mask; ``"piecewise_linear"``: ``dL/dx = sum_t g_{h,t} / (e_t - e_{t-1})``
    over the bins where ``h_t`` is not clipped (the derivative from the right at an
    edge).

    Parameters
    ----------
    n_features : int
        Number of columns ``F``.
    kind : {"pbld", "periodic", "piecewise_linear"}, default="pbld"
    n_frequencies : int, default=16
        ``K``, the number of periodic values per column (``"pbld"``: ``K`` frequencies;
        ``"periodic"``: ``K / 2`` frequencies, each giving a cosine and a sine, so ``K``
        must be even). Unused by ``"piecewise_linear"``.
    dim : int or None, default=4
        ``d``, the size of each column's embedding: at least 2 for ``"pbld"`` (``dim - 1``
        learned values and the raw value), at least 1 for ``"periodic"``; for
        ``"piecewise_linear"`` the output size of the linear map, or None for the
        encoding alone (``d = T``).
    sigma : float, default=0.1
        Standard deviation of the initial frequencies, drawn from ``N(0, sigma^2)``
        (RealMLP's 0.1 suits inputs scaled to about unit size). Unused by
        ``"piecewise_linear"``.
    edges : list of array-like, optional
        ``"piecewise_linear"`` only, and required there: one increasing array of bin
        edges per column (at least two each), e.g. from :meth:`piecewise_edges`.
    rng : None, int or numpy.random.Generator
        Source of the initial parameters: frequencies ``N(0, sigma^2)``, phases
        ``U(-pi, pi)``, linear maps and offsets ``U(-1/sqrt(k), 1/sqrt(k))`` for ``k``
        inputs of the map (PyTorch's ``nn.Linear`` default).
    dtype : dtype, default=float64
        dtype of the parameters; a floating input of another dtype converts them.

    Attributes
    ----------
    frequencies : ndarray of shape (F, K) or (F, K / 2), or None
        The learned frequencies ``w`` (None for ``"piecewise_linear"``).
    phases : ndarray of shape (F, K) or None
        The learned phases ``p`` of ``"pbld"`` (None for the other kinds).
    W : ndarray of shape (F, k, m) or None
        The stacked per-column linear maps (``k`` encoding values to ``m`` outputs); None
        for ``"piecewise_linear"`` with ``dim=None``.
    b : ndarray of shape (F, m) or None
        Their offsets.
    gradFrequencies, gradPhases, gradW, gradb : ndarrays or None
        Accumulated gradients, shaped like the parameters.
    edges : list of ndarray or None
        ``"piecewise_linear"``: the checked bin edges, float64.
    n_bins : int
        ``"piecewise_linear"``: ``T``, the largest number of bins of a column (0 for the
        other kinds).
    slopes, offsets, lower, upper : ndarrays of shape (F, T) or None
        ``"piecewise_linear"``: ``h = clip(x * slopes + offsets, lower, upper)``, with
        ``slopes = 1 / (e_t - e_{t-1})`` (0 for padding) and infinite bounds for the
        open-ended outer bins. Fixed float64 arrays derived from ``edges`` (not buffers:
        nothing changes them, and a pass casts them to the input's dtype).

    Notes
    -----
    Weight decay applies to every parameter (``_decayed`` lists them all), as in RealMLP;
    decay pulls the frequencies towards 0 (slower cosines) and the phases towards 0. An
    instance's ``decay_factors`` dict overrides it per parameter, e.g.
    ``emb.decay_factors = {"phases": 0.0}``. RealMLP trains them with a learning-rate
    factor of 0.1 and decays them by ``lr * weight_decay * 0.1**2`` per step (its decay
    multiplies the learning-rate factor in twice): with
    :class:`~sknn_scratch.optim.AdamW`, learning-rate and decay factors of 0.1 each.

    RealMLP puts the raw values of all columns after all the learned values; here each
    column's raw value follows its own learned values. The two differ by a permutation
    of the outputs, which the linear layer that follows absorbs.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import NumericEmbedding
    >>> emb = NumericEmbedding(3, rng=0)  # "pbld": 16 frequencies, 4 values per column
    >>> x = np.array([[0.5, -1.0, 2.0], [0.0, 1.0, 3.0]])
    >>> emb.forward(x).shape
    (2, 12)
    >>> emb.output.reshape(2, 3, 4)[:, :, -1]  # each column's raw value comes last
    array([[ 0.5, -1. ,  2. ],
           [ 0. ,  1. ,  3. ]])
    >>> edges = NumericEmbedding.piecewise_edges(np.arange(150.0).reshape(50, 3), n_bins=4)
    >>> NumericEmbedding(3, "piecewise_linear", dim=None, edges=edges).forward(x).shape
    (2, 12)
    """

    _parameters = ("frequencies", "phases", "W", "b")
    _gradients = ("gradFrequencies", "gradPhases", "gradW", "gradb")
    _decayed = ("frequencies", "phases", "W", "b")
    _transient = (*Module._transient, "_cache_z", "_cache_h", "_cache_a", "_cache_work")

    def __init__(
        self,
        n_features: int,
        kind: str = "pbld",
        n_frequencies: int = 16,
        dim: int | None = 4,
        sigma: float = 0.1,
        *,
        edges=None,
        rng=None,
        dtype=np.float64,
    ):
        super().__init__()
        self.n_features = F = check_int("NumericEmbedding n_features", n_features, 1)
        if kind not in KINDS:
            raise ValueError(f"NumericEmbedding kind must be one of {KINDS}, got {kind!r}")
        self.kind = kind
        self.n_frequencies = K = check_int("NumericEmbedding n_frequencies", n_frequencies, 1)
        if kind == "periodic" and K % 2:
            raise ValueError(
                f"NumericEmbedding(kind='periodic') takes an even n_frequencies (a cosine and a sine per "
                f"frequency), got {K}"
            )
        if kind == "piecewise_linear" and dim is None:
            self.dim = None
        else:
            self.dim = check_int(f"NumericEmbedding(kind={kind!r}) dim", dim, 2 if kind == "pbld" else 1)
        if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real) or not (np.isfinite(sigma) and sigma > 0):
            raise ValueError(f"NumericEmbedding sigma must be a finite number > 0, got {sigma!r}")
        self.sigma = float(sigma)
        if kind != "piecewise_linear" and edges is not None:
            raise ValueError(f"NumericEmbedding edges are for kind='piecewise_linear' only, got kind={kind!r}")
        self.frequencies = self.phases = self.W = self.b = None
        self.slopes = self.offsets = self.lower = self.upper = None
        self.edges = None
        self.n_bins: int = 0
        if kind == "pbld":
            self.frequencies, self.phases = np.empty((F, K), dtype=dtype), np.empty((F, K), dtype=dtype)
            self.W, self.b = np.empty((F, K, self.dim - 1), dtype=dtype), np.empty((F, self.dim - 1), dtype=dtype)
        elif kind == "periodic":
            self.frequencies = np.empty((F, K // 2), dtype=dtype)
            self.W, self.b = np.empty((F, K, self.dim), dtype=dtype), np.empty((F, self.dim), dtype=dtype)
        else:
            self._set_bins(edges, dtype)
            if self.dim is not None:
                self.W, self.b = np.empty((F, self.n_bins, self.dim), dtype=dtype), np.empty((F, self.dim), dtype=dtype)
        # each kind declares the parameters it has (the others stay None)
        names = [i for i, name in enumerate(NumericEmbedding._parameters) if getattr(self, name) is not None]
        self._parameters = tuple(NumericEmbedding._parameters[i] for i in names)
        self._gradients = tuple(NumericEmbedding._gradients[i] for i in names)
        self._decayed = self._parameters
        self.gradFrequencies = self.gradPhases = self.gradW = self.gradb = None
        for name, grad in zip(self._parameters, self._gradients, strict=True):
            setattr(self, grad, np.zeros_like(getattr(self, name)))
        self._cache_z = self._cache_h = self._cache_a = self._cache_work = None
        self.reset_parameters(rng)

    # -- bins of the piecewise-linear encoding ----------------------------------------------
    @classmethod
    def piecewise_edges(cls, X, n_bins: int = 48) -> list[np.ndarray]:
        """Bin edges for ``kind="piecewise_linear"``: the quantiles ``0, 1/n_bins, ..., 1``
        of each column of training data ``X``, repeated edges dropped (a column with few
        distinct values gets fewer bins).

        A column holding a single value ``v`` gets the one bin ``[v, v + 1]``, whose
        (unclipped) encoding is ``x - v``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Finite values.
        n_bins : int, default=48
            The largest number of bins per column.

        Returns
        -------
        list of ndarray
            One increasing float64 array of at most ``n_bins + 1`` edges per column.
        """
        return quantile_edges(X, check_int("NumericEmbedding.piecewise_edges n_bins", n_bins, 1))

    def _set_bins(self, edges, dtype):
        """Check ``edges`` and derive ``slopes``, ``offsets``, ``lower`` and ``upper`` from them."""
        self.edges = checked_edges(edges, self.n_features)
        self.n_bins = max(len(e) - 1 for e in self.edges)
        self.slopes, self.offsets, self.lower, self.upper = bin_lines(self.edges, self.n_bins)

    # -- protocol ---------------------------------------------------------------------------
    @classmethod
    def infer_args(cls, sample_shape):
        """``n_features``: the size of a sample ``(F,)``."""
        return {"n_features": sample_shape[0]}

    @property
    def embedding_dim(self) -> int:
        """``d``, the number of output values per column."""
        return self.dim if self.dim is not None else self.n_bins

    def output_shape(self, sample_shape):
        """``(F * d,)`` for samples of shape ``(F,)``."""
        if tuple(sample_shape) != (self.n_features,):
            raise ValueError(
                f"{self!r} takes samples of shape ({self.n_features},), got samples of shape {tuple(sample_shape)}"
            )
        return (self.n_features * self.embedding_dim,)

    def reset_parameters(self, rng=None):
        """Draw new initial parameters in place (see ``rng`` above); the bins stay."""
        rng = as_generator(rng)
        if self.frequencies is not None:
            self.frequencies[...] = rng.normal(0.0, self.sigma, size=self.frequencies.shape)
        if self.phases is not None:
            self.phases[...] = rng.uniform(-np.pi, np.pi, size=self.phases.shape)
        if self.W is not None:
            bound = 1 / np.sqrt(self.W.shape[1])
            self.W[...] = rng.uniform(-bound, bound, size=self.W.shape)
            self.b[...] = rng.uniform(-bound, bound, size=self.b.shape)

    def _columns(self, input):
        """The input as a float array ``(N, F)`` in the parameters' dtype."""
        x = self._match_dtype(input)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"{self!r} expects input of shape (n_samples, {self.n_features}), got {x.shape}")
        return x

    def _bins(self, dtype):
        """``slopes``, ``offsets``, ``lower`` and ``upper`` in ``dtype``, shaped ``(F, 1, T)``
        to broadcast over ``(F, N, T)``."""
        return [getattr(self, name).astype(dtype)[:, None, :] for name in ("slopes", "offsets", "lower", "upper")]

    # -- forward ----------------------------------------------------------------------------
    def _scratch(self, name, shape, dtype):
        """The scratch array ``name``, reused from pass to pass while the batch keeps its
        shape: fresh large arrays for every pass would be slower to write."""
        if self._cache_work is None:
            self._cache_work = {}
        return scratch(self._cache_work, name, shape, dtype)

    def _encode(self, xt, keep):
        """The encoding ``h`` of the columns ``xt`` (shape ``(F, N)``) as ``(F, N, k)``, and
        ``z``, the phases (the unclipped encoding for ``"piecewise_linear"``), which the
        backward pass needs; without ``keep`` the cosines of ``"pbld"`` overwrite ``z``."""
        F, n = xt.shape
        if self.kind == "piecewise_linear":
            slopes, offsets, lower, upper = self._bins(xt.dtype)
            z = np.multiply(xt[:, :, None], slopes, out=self._scratch("z", (F, n, slopes.shape[2]), xt.dtype))
            z += offsets
            h = np.maximum(z, lower, out=self._scratch("h", z.shape, z.dtype))
            return np.minimum(h, upper, out=h), z
        w = (_TWO_PI * self.frequencies)[:, None, :]  # 2 pi w x
        z = np.multiply(xt[:, :, None], w, out=self._scratch("z", (F, n, w.shape[2]), xt.dtype))
        if self.kind == "pbld":
            z += self.phases[:, None, :]
            return np.cos(z, out=self._scratch("h", z.shape, z.dtype) if keep else z), z
        h = self._scratch("h", (F, n, 2 * w.shape[2]), z.dtype)
        np.cos(z, out=h[:, :, : w.shape[2]])
        np.sin(z, out=h[:, :, w.shape[2] :])
        return h, z

    def _forward(self, x, keep):
        """``(output, (z, h, a))``: the output rows and the intermediate arrays (``a`` the
        linear map's result before the ReLU, ``"periodic"`` only)."""
        n, F = x.shape
        h, z = self._encode(np.ascontiguousarray(x.T), keep)
        a = h
        if self.W is not None:
            a = np.matmul(h, self.W)  # (F, N, k) @ (F, k, m): F products at once
            a += self.b[:, None, :]
        d = self.embedding_dim
        out = np.empty((n, F, d), dtype=x.dtype)
        if self.kind == "periodic":
            np.maximum(a.transpose(1, 0, 2), 0, out=out)
        else:
            out[:, :, : a.shape[2]] = a.transpose(1, 0, 2)
        if self.kind == "pbld":
            out[:, :, d - 1] = x
        return out.reshape(n, F * d), (z, h, a if self.kind == "periodic" else None)

    def updateOutput(self, input):
        x = self._columns(input)
        self.output, cache = self._forward(x, keep=self.training)
        self._cache_z, self._cache_h, self._cache_a = cache if self.training else (None, None, None)
        return self.output

    # -- backward ---------------------------------------------------------------------------
    def _backprop(self, input, gradOutput, input_grad, params):
        """The input gradient (when ``input_grad``, else None) and, when ``params``, the
        parameter gradients added to the gradient arrays."""
        x = self._columns(input)
        n, F = x.shape
        d = self.embedding_dim
        z, h, a = self._cache_z, self._cache_h, self._cache_a
        if h is None or h.shape[1] != n:  # after an evaluation-mode pass: from the input
            _, (z, h, a) = self._forward(x, keep=True)
        g = np.asarray(gradOutput, dtype=x.dtype)
        if g.shape != (n, F * d):
            raise ValueError(f"{self!r}: gradOutput must have shape {(n, F * d)}, got {g.shape}")
        g = g.reshape(n, F, d)
        m = d - 1 if self.kind == "pbld" else d
        ga = np.ascontiguousarray(g[:, :, :m].transpose(1, 0, 2))  # (F, N, m)
        if a is not None:  # the ReLU of "periodic"
            ga *= a > 0
        gh = ga
        if self.W is not None:
            if params:
                self.gradW += np.matmul(h.transpose(0, 2, 1), ga)
                self.gradb += sum_over_samples(ga)
            if not (input_grad or self.frequencies is not None):
                return None
            gh = np.matmul(ga, self.W.transpose(0, 2, 1), out=self._scratch("gh", h.shape, h.dtype))  # (F, N, k)
        if self.kind == "piecewise_linear":
            if not input_grad:
                return None
            slopes, _, lower, upper = self._bins(x.dtype)
            gz = np.multiply(gh, (z >= lower) & (z < upper), out=self._scratch("gz", gh.shape, gh.dtype))
            return np.ascontiguousarray(np.matmul(gz, slopes.transpose(0, 2, 1))[:, :, 0].T)
        # gz = -dL/dz: the derivative of cos z is -sin z, that of [cos z, sin z] is [-sin z, cos z]
        gz = np.sin(z, out=self._scratch("gz", z.shape, z.dtype))
        if self.kind == "pbld":
            gz *= gh
        else:
            half = z.shape[2]
            gz *= gh[:, :, :half]
            gz -= np.cos(z) * gh[:, :, half:]
        if params:  # sum over samples of 2 pi x dL/dz and of dL/dz, in one product
            rows = np.ones((F, 2, n), dtype=x.dtype)
            rows[:, 0, :] = x.T
            sums = np.matmul(rows, gz)
            self.gradFrequencies -= _TWO_PI * sums[:, 0, :]
            if self.phases is not None:
                self.gradPhases -= sums[:, 1, :]
        if not input_grad:
            return None
        gx = np.matmul(gz, (-_TWO_PI * self.frequencies)[:, :, None])[:, :, 0].T
        if self.kind == "pbld":
            gx = gx + g[:, :, d - 1]
        return np.ascontiguousarray(gx)

    def backward(self, input, gradOutput, *, input_grad=True):
        """:meth:`updateGradInput` and :meth:`accGradParameters` in one pass (they share
        ``g W^T`` and the derivative of the encoding)."""
        self.gradInput = self._backprop(input, gradOutput, input_grad, params=True)
        return self.gradInput

    def updateGradInput(self, input, gradOutput):
        self.gradInput = self._backprop(input, gradOutput, True, params=False)
        return self.gradInput

    def accGradParameters(self, input, gradOutput):
        if self._parameters:
            self._backprop(input, gradOutput, False, params=True)

    def extra_repr(self):
        parts = [str(self.n_features), repr(self.kind)]
        if self.kind != "piecewise_linear":
            parts.append(f"n_frequencies={self.n_frequencies}")
        parts.append(f"dim={self.dim}")
        if self.kind != "piecewise_linear" and self.sigma != 0.1:
            parts.append(f"sigma={self.sigma}")
        if self.kind == "piecewise_linear":
            parts.append(f"n_bins={self.n_bins}")
        return ", ".join(parts)
