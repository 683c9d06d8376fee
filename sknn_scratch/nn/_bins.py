"""Bins of the piecewise-linear encoding of :class:`~sknn_scratch.nn.NumericEmbedding`.

Column ``j`` with edges ``e_0 < e_1 < ... < e_t`` has ``t`` bins; bin ``k`` of a value
``x`` is the line ``(x - e_k) / (e_{k+1} - e_k)``, clipped to ``[0, 1]``, except that
the first bin has no lower clip and the last no upper clip (the encoding extends the
outer bins linearly beyond the training range).
"""

from __future__ import annotations

import numpy as np

__all__ = ["quantile_edges", "checked_edges", "bin_lines"]


def quantile_edges(X, n_bins):
    """The quantiles ``0, 1/n_bins, ..., 1`` of each column of ``X``, repeated edges
    dropped; a column holding a single value ``v`` gets the one bin ``[v, v + 1]``."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"piecewise_edges needs X of shape (n_samples, n_features), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("piecewise_edges needs finite values: X holds NaN or infinity")
    quantiles = np.quantile(X, np.linspace(0, 1, n_bins + 1), axis=0)  # (n_bins + 1, n_features)
    edges = [np.unique(column) for column in quantiles.T]
    return [e if len(e) > 1 else np.array([e[0], e[0] + 1.0]) for e in edges]


def checked_edges(edges, n_features):
    """``edges`` as a list of ``n_features`` float64 arrays of at least two finite,
    strictly increasing values; a ValueError naming the problem otherwise."""
    if edges is None:
        raise ValueError(
            "NumericEmbedding(kind='piecewise_linear') needs edges: one increasing array of bin edges per "
            "column, e.g. from NumericEmbedding.piecewise_edges(X_train, n_bins)"
        )
    if isinstance(edges, np.ndarray) and edges.ndim == 2:
        edges = list(edges)
    if not isinstance(edges, (list, tuple)) or len(edges) != n_features:
        got = len(edges) if isinstance(edges, (list, tuple)) else type(edges).__name__
        raise ValueError(f"NumericEmbedding edges must be a list of {n_features} arrays (one per column), got {got}")
    checked = []
    for j, column in enumerate(edges):
        e = np.asarray(column, dtype=np.float64)
        if e.ndim != 1 or e.size < 2 or not np.isfinite(e).all() or not np.all(np.diff(e) > 0):
            raise ValueError(
                f"NumericEmbedding edges[{j}] must hold at least two finite, strictly increasing values, got {column!r}"
            )
        checked.append(e)
    return checked


def bin_lines(edges, n_bins):
    """``(slopes, offsets, lower, upper)``, each ``(n_features, n_bins)``: bin ``k`` of
    column ``j`` is ``clip(slopes[j, k] * x + offsets[j, k], lower[j, k], upper[j, k])``.
    A column with fewer bins has lines of slope 0 (always 0) in the bins it lacks."""
    F = len(edges)
    slopes, offsets = np.zeros((F, n_bins)), np.zeros((F, n_bins))
    lower, upper = np.zeros((F, n_bins)), np.ones((F, n_bins))
    for j, e in enumerate(edges):
        t = len(e) - 1
        slopes[j, :t] = 1 / np.diff(e)
        offsets[j, :t] = -e[:-1] * slopes[j, :t]
        lower[j, 0] = -np.inf  # the first bin extends to the left
        upper[j, t - 1] = np.inf  # and the last to the right
    return slopes, offsets, lower, upper
