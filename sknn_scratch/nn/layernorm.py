"""Layer normalisation: each sample normalised over its last axis, then scaled and
shifted by a learned ``gamma`` and ``beta`` per feature.

For a row ``x`` of ``F`` values, ``y = gamma * (x - mean(x)) / sqrt(var(x) + eps) + beta``;
the statistics are the row's own, so training and evaluation compute the same (unlike
:class:`~sknn_scratch.nn.BatchNormalization`, whose statistics are the batch's). The
class docstring gives the backward pass. The row and column sums run as BLAS products
(see :mod:`._kernels`).
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _kernels
from .module import Module, as_generator, check_int

__all__ = ["LayerNorm"]

#: values per piece of a large batch that LayerNorm handles at once
_PIECE = 1 << 18


class LayerNorm(Module):
    """Normalise each sample over its last axis, then scale and shift it.

    For every row ``x`` of ``F`` values (the last axis; the input is ``(N, F)`` or
    ``(N, ..., F)``, e.g. ``(N, k, dim)`` after an :class:`Embedding`):

    .. math::

        \\mu = \\frac{1}{F} \\sum_j x_j, \\quad
        \\sigma^2 = \\frac{1}{F} \\sum_j (x_j - \\mu)^2, \\quad
        \\hat x = \\frac{x - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}}, \\quad
        y = \\gamma \\odot \\hat x + \\beta.

    Backward, with ``g = dL/dy`` and ``h = gamma * g``:

    .. math::

        \\frac{\\partial L}{\\partial x} = \\frac{h - \\operatorname{mean}(h)
            - \\hat x \\operatorname{mean}(h \\odot \\hat x)}{\\sqrt{\\sigma^2 + \\epsilon}}, \\qquad
        \\frac{\\partial L}{\\partial \\gamma} = \\sum_{\\text{rows}} g \\odot \\hat x, \\qquad
        \\frac{\\partial L}{\\partial \\beta} = \\sum_{\\text{rows}} g

    (means over the row's ``F`` values). Unlike :class:`BatchNormalization` the
    statistics are each sample's own, so training and evaluation compute the same.

    Parameters
    ----------
    n_features : int
        ``F``, the size of the last axis.
    eps : float, default=1e-5
        Added to the variance.
    affine : bool, default=True
        Whether to learn ``gamma`` and ``beta`` (PyTorch's ``elementwise_affine``);
        without them the module has no parameters.
    rng : None, int or numpy.random.Generator
        Accepted for uniformity with the other layers; the initial values are fixed.
    dtype : dtype, default=float64
        dtype of the parameters; a floating input of another dtype converts them.

    Attributes
    ----------
    gamma : ndarray of shape (n_features,) or None
        Scales, initially ones (None without ``affine``).
    beta : ndarray of shape (n_features,) or None
        Shifts, initially zeros.
    gradGamma, gradBeta : ndarrays of shape (n_features,) or None

    Notes
    -----
    A training-mode forward pass keeps ``x - mu``, ``gamma / sqrt(var + eps)`` (one row
    per sample) and ``1 / sqrt(var + eps)`` for the backward pass (which, as for every
    module, must receive that pass's input), in the arrays of the previous training
    pass when the shapes agree; after an evaluation-mode pass the backward pass
    computes them from its input. :meth:`backward` computes the input gradient and the
    parameter gradients in one pass. Weight decay does not apply to ``gamma`` and
    ``beta``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import LayerNorm
    >>> y = LayerNorm(4).forward(np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 8.0]]))
    >>> y.mean(axis=1).round(6) + 0, y.std(axis=1).round(4)
    (array([0., 0.]), array([1., 1.]))
    """

    _parameters = ("gamma", "beta")
    _gradients = ("gradGamma", "gradBeta")
    _decayed = ()
    _transient = (*Module._transient, "_kept")

    def __init__(self, n_features: int, eps: float = 1e-5, affine: bool = True, *, rng=None, dtype=np.float64):
        super().__init__()
        self.n_features = check_int("LayerNorm n_features", n_features, 1)
        if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps > 0:
            raise ValueError(f"LayerNorm eps must be a number > 0, got {eps!r}")
        self.eps = float(eps)
        self.affine = bool(affine)
        if self.affine:
            self.gamma = np.ones(self.n_features, dtype=dtype)
            self.beta = np.zeros(self.n_features, dtype=dtype)
            self.gradGamma = np.zeros_like(self.gamma)
            self.gradBeta = np.zeros_like(self.beta)
        else:  # no parameters
            self._parameters = self._gradients = ()
            self.gamma = self.beta = self.gradGamma = self.gradBeta = None
        self._kept = None  # what a training pass keeps for the backward pass
        self.reset_parameters(rng)

    @classmethod
    def infer_args(cls, sample_shape):
        """``n_features``: the last axis of a sample."""
        return {"n_features": sample_shape[-1]}

    def reset_parameters(self, rng=None):
        """``gamma = 1`` and ``beta = 0`` (``rng`` is validated, not used)."""
        as_generator(rng)
        if self.affine:
            self.gamma.fill(1)
            self.beta.fill(0)

    def output_shape(self, sample_shape):
        """The shape of one output sample: that of the input, ``(..., n_features)``."""
        if len(sample_shape) < 1 or sample_shape[-1] != self.n_features:
            raise ValueError(
                f"{self!r} takes samples of shape ({self.n_features},) or (..., {self.n_features}), "
                f"got samples of shape {tuple(sample_shape)}"
            )
        return tuple(sample_shape)

    def _rows(self, input):
        """The input as a float array ``(rows, F)``."""
        x = self._match_dtype(input) if self.affine else np.asarray(input)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        if x.ndim < 2 or x.shape[-1] != self.n_features:
            raise ValueError(
                f"{self!r} expects input of shape (n_samples, ..., {self.n_features}), got {np.shape(input)}"
            )
        return x.reshape(-1, self.n_features)

    def _pieces(self, n_rows):
        """Slices of the rows of about :data:`_PIECE` values: a large batch is handled in
        pieces whose temporaries are recycled, large enough that the fixed cost of each
        NumPy call stays small."""
        step = max(1, _PIECE // self.n_features)
        return [slice(start, start + step) for start in range(0, n_rows, step)]

    def _normalise(self, x, centred, scale):
        """Statistics of rows ``x``: write ``x - mean`` into ``centred`` and, one row per
        sample, ``gamma / sqrt(var + eps)`` into ``scale`` (a new array if None); return
        ``(scale, 1 / sqrt(var + eps))``."""
        np.subtract(x, _kernels.row_means(x)[:, None], out=centred)
        # 1 / sqrt(var + eps) = sqrt(F) / sqrt(sum of squares + F eps)
        inv_std = _kernels.row_dot(centred, centred)
        inv_std += self.n_features * self.eps
        np.sqrt(inv_std, out=inv_std)
        np.divide(self.n_features**0.5, inv_std, out=inv_std)
        gamma = self.gamma if self.affine else _kernels.filled(self.n_features, 1, x.dtype)
        return np.multiply.outer(inv_std, gamma, out=scale), inv_std

    def _forward(self, x, kept=None):
        """``y = gamma x_hat + beta`` of rows ``x`` and ``(x - mean, gamma / sqrt(var + eps),
        1 / sqrt(var + eps))``, written into ``kept`` when given. Without ``kept`` the
        output overwrites ``x - mean``."""
        centred, scale = (np.empty_like(x), None) if kept is None else kept[:2]
        inv_std = np.empty(len(x), dtype=x.dtype)
        y = centred if kept is None else np.empty_like(x)
        for rows in self._pieces(len(x)):
            piece_scale, inv_std[rows] = self._normalise(x[rows], centred[rows], None if scale is None else scale[rows])
            np.multiply(centred[rows], piece_scale, out=y[rows])  # gamma x_hat
            if self.affine:
                y[rows] += self.beta
        return y, (centred, scale, inv_std)

    def _statistics(self, x):
        """``(x - mean, gamma / sqrt(var + eps), 1 / sqrt(var + eps))`` of rows ``x``."""
        kept = (np.empty_like(x), np.empty_like(x))
        return self._forward(x, kept)[1]

    def updateOutput(self, input):
        x = np.ascontiguousarray(self._rows(input))
        if self.training:
            # the backward pass needs x - mean and gamma / sqrt(var + eps); the arrays
            # of the previous training pass are reused when they have the same shape
            kept = self._kept
            if kept is None or kept[0].shape != x.shape or kept[0].dtype != x.dtype:
                kept = (np.empty_like(x), np.empty_like(x))
            y, self._kept = self._forward(x, kept)
        else:
            y, self._kept = self._forward(x)[0], None
        self.output = y.reshape(np.shape(input))
        return self.output

    def _gradient_rows(self, gradOutput, like):
        g = np.asarray(gradOutput, dtype=like.dtype)
        if g.size != like.size or g.shape[-1:] != like.shape[-1:]:
            raise ValueError(f"{self!r}: gradOutput of shape {g.shape} does not match the input's")
        return g.reshape(like.shape)

    def backward(self, input, gradOutput, *, input_grad=True):
        """:meth:`updateGradInput` (unless ``input_grad=False``) and
        :meth:`accGradParameters` in one pass over the rows: they share ``g * (x - mean)``."""
        self.gradInput = self._backward(input, gradOutput, input_grad, self.affine)
        return self.gradInput

    def updateGradInput(self, input, gradOutput):
        self.gradInput = self._backward(input, gradOutput, True, False)
        return self.gradInput

    def accGradParameters(self, input, gradOutput):
        if self.affine:
            self._backward(input, gradOutput, False, True)

    def _backward(self, input, gradOutput, grad_input, grad_parameters):
        """The input gradient (None unless ``grad_input``), adding the parameter
        gradients when ``grad_parameters``; piece by piece.

        With ``d = x - mean``, ``s = 1 / sqrt(var + eps)`` (so ``x_hat = s d``) and
        ``S = s gamma`` per row, the input gradient of the class docstring is
        ``g S - mean(g S) - s^3 mean(g gamma d) d``, and ``dL/dgamma = sum_rows s g d``.
        """
        centred, scale, inv_std = self._kept or self._statistics(np.ascontiguousarray(self._rows(input)))
        g = self._gradient_rows(gradOutput, centred)
        grad = np.empty_like(centred) if grad_input else None
        gamma = self.gamma if self.affine else _kernels.filled(self.n_features, 1, centred.dtype)
        for rows in self._pieces(len(centred)):
            g_rows, d, s = g[rows], centred[rows], inv_std[rows]
            gd = g_rows * d
            if grad_parameters:
                self.gradGamma += s @ gd
                self.gradBeta += _kernels.column_sums(g_rows)
            if not grad_input:
                continue
            h = np.multiply(g_rows, scale[rows], out=grad[rows])
            mean_h = h @ _kernels.filled(self.n_features, 1 / self.n_features, h.dtype)
            coefficient = gd @ gamma
            coefficient *= s**3 / self.n_features
            h -= np.multiply(d, coefficient[:, None], out=gd)
            h -= mean_h[:, None]
        return None if grad is None else grad.reshape(np.shape(input))

    def extra_repr(self):
        s = str(self.n_features)
        if self.eps != 1e-5:
            s += f", eps={self.eps}"
        return s + ("" if self.affine else ", affine=False")
