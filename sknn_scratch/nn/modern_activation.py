"""The smooth activations of modern networks: :class:`GELU`, :class:`SiLU`,
:class:`Mish` and :class:`Softplus`.

Their derivatives are functions of the input rather than of the output. A
training-mode forward pass computes the function and its derivative together (they
share their costly parts, typically one exponential) and keeps the derivative for the
backward pass; see :class:`_KeepsDerivative` (which the exponential and leaky linear
units of :mod:`sknn_scratch.nn.linear_units` use too).

Every activation here keeps the dtype of its input.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import ndtr

from .activation import _Elementwise
from .module import Module

__all__ = ["GELU", "SiLU", "Mish", "Softplus"]


# -- activations whose derivative is a function of the input ----------------------------
def _as_float(input):
    x = np.asarray(input)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def _check_real(name, value, *, positive=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return float(value)


#: elements per piece of a large batch (256 KB of float32): a piece's temporary arrays
#: stay in the CPU cache and their memory is recycled, where whole-batch temporaries
#: would be fresh memory, slower to write, for every operation
_PIECE = 1 << 16


class _KeepsDerivative(_Elementwise):
    """An element-wise activation ``f`` whose derivative is a function of the input.

    A training-mode forward pass computes ``f(x)`` and ``f'(x)`` together (they share
    their costly parts) and keeps ``f'(x)`` in :attr:`derivative`; the backward pass is
    then ``gradInput = gradOutput * f'(x)``, one multiplication. The input is not
    needed any more, so ``inplace=True`` may overwrite it with the output, and the
    backward pass overwrites a contiguous ``gradOutput``.

    An evaluation-mode pass computes ``f(x)`` alone, keeps nothing and never overwrites
    its input, so that a backward pass after it can compute ``f'`` from that input.

    Subclasses implement ``_evaluate(x, out, d_out)``: write ``f(x)`` into ``out`` (which
    may be ``x`` itself: compute the derivative first) and, unless ``d_out`` is None,
    ``f'(x)`` into ``d_out``. Large batches are evaluated in pieces of :data:`_PIECE`
    elements, and a training pass writes ``f'`` into the array of the previous one
    when it has the same shape.
    """

    _transient = (*Module._transient, "derivative")

    def __init__(self, inplace=False):
        super().__init__(inplace)
        self.derivative = None

    def _evaluate(self, x, out, d_out):
        raise NotImplementedError

    def _run(self, x, out, d_out):
        """``_evaluate`` on the whole of ``x`` or piece by piece; float16 in float32 (its
        range ends at 65504: ``e^x`` overflows beyond ``x = 11``)."""
        if x.dtype == np.float16:
            wide = x.astype(np.float32)
            d_wide = None if d_out is None else np.empty_like(wide)
            self._run(wide, wide, d_wide)
            out[...] = wide
            if d_out is not None:
                d_out[...] = d_wide
            return
        if x.size <= _PIECE or not (x.flags.c_contiguous and out.flags.c_contiguous):
            self._evaluate(x, out, d_out)
            return
        xs, ys = x.reshape(-1), out.reshape(-1)
        ds = None if d_out is None else d_out.reshape(-1)
        for start in range(0, x.size, _PIECE):
            piece = slice(start, start + _PIECE)
            self._evaluate(xs[piece], ys[piece], None if ds is None else ds[piece])

    def updateOutput(self, input):
        x = _as_float(input)
        if self.training:
            out = x if self.inplace and x.flags.writeable else np.empty_like(x)
            d = self.derivative
            if d is None or d.shape != x.shape or d.dtype != x.dtype or d.strides != x.strides:
                d = np.empty_like(x)
        else:
            out, d = np.empty_like(x), None
        self._run(x, out, d)
        self.output, self.derivative = out, d
        return out

    def updateGradInput(self, input, gradOutput):
        d = self.derivative
        if d is None:  # after an evaluation-mode pass: from the input
            x = _as_float(input)
            d = np.empty_like(x)
            self._run(x, np.empty_like(x), d)
        g = np.asarray(gradOutput)
        if g.shape != d.shape:
            raise ValueError(f"{self!r}: gradOutput of shape {g.shape} does not match the input's shape {d.shape}")
        inplace = self.inplace and g.flags.writeable and g.flags.c_contiguous and g.dtype == d.dtype
        self.gradInput = np.multiply(g, d, out=g if inplace else None)
        return self.gradInput


# Abramowitz & Stegun 7.1.26: 0.5 erfc(z) = (a1 t + ... + a5 t^5) exp(-z^2) / 2 with
# t = 1 / (1 + p z), z >= 0, absolute error below 1.5e-7 / 2; here z = |x| / sqrt(2) and
# the coefficients (a5 .. a1) are halved, so that the polynomial times exp(-x^2 / 2) is Phi(-|x|)
_AS_P = 0.3275911 / 2**0.5
_AS_HALF_COEFFICIENTS = tuple(a / 2 for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))
_INV_SQRT_2PI = 1 / (2 * np.pi) ** 0.5
_SQRT_2_OVER_PI = (2 / np.pi) ** 0.5


def _normal_cdf(x, density):
    """``Phi(x)``, the standard normal distribution function, and (``density``) the
    unnormalised density ``exp(-x**2 / 2)``: new arrays of ``x``'s dtype.

    float64: :func:`scipy.special.ndtr`, accurate to a few ulps also in the tails.
    float32: the Abramowitz-Stegun formula above (absolute error below 1e-7, the
    resolution of float32 near 1), five times faster, whose exponential is the
    density's."""
    if x.dtype.itemsize >= 8:
        cdf = ndtr(x)
        if not density:
            return cdf, None
    with np.errstate(over="ignore"):  # x**2 = inf for huge |x|: exp(-inf) = 0 is right
        e = np.square(x)
    e *= -0.5
    np.exp(e, out=e)
    if x.dtype.itemsize >= 8:
        return cdf, e
    t = np.abs(x)
    t += 1 / _AS_P
    np.divide(1 / _AS_P, t, out=t)  # 1 / (1 + p |x|)
    tail = t * _AS_HALF_COEFFICIENTS[0]
    for coefficient in _AS_HALF_COEFFICIENTS[1:]:
        tail += coefficient
        tail *= t
    tail *= e  # Phi(-|x|)
    # Phi(x) = 1/2 + sign(x) (1/2 - Phi(-|x|))
    np.subtract(0.5, tail, out=tail)
    _give_sign_of(x, tail)
    tail += 0.5
    return tail, e


def _give_sign_of(x, w):
    """``w = copysign(w, x)`` in place, for ``w`` whose values are all ``>= +0``: the
    sign bit of ``x`` ORed into ``w``'s, two integer passes (``np.copysign`` is about
    five times as slow as one arithmetic pass)."""
    bits = np.dtype(f"i{w.dtype.itemsize}")
    sign = np.bitwise_and(x.view(bits), np.iinfo(bits).min)
    np.bitwise_or(w.view(bits), sign, out=w.view(bits))


def _sigmoid(x):
    """``1 / (1 + exp(-x))``, a new array: in float32 twice as fast as
    :func:`scipy.special.expit`, and as accurate."""
    s = np.negative(x)
    with np.errstate(over="ignore"):  # exp(-x) = inf far below 0: 1 / inf = 0 is right
        np.exp(s, out=s)
    s += 1
    return np.divide(1, s, out=s)  # np.reciprocal is slower


class GELU(_KeepsDerivative):
    """Gaussian error linear unit: ``x * Phi(x)``, ``Phi`` the standard normal CDF.

    .. math::

        f(x) = x \\Phi(x), \\qquad f'(x) = \\Phi(x) + x \\varphi(x),
        \\quad \\varphi(x) = e^{-x^2/2} / \\sqrt{2\\pi}.

    With ``approximate="tanh"`` (as PyTorch's option): ``f(x) = x (1 + tanh(u)) / 2``
    with ``u = sqrt(2/pi) (x + 0.044715 x^3)``, and
    ``f'(x) = (1 + tanh(u)) / 2 + x (1 - tanh(u)^2) u' / 2``.

    Parameters
    ----------
    approximate : {"none", "tanh"}, default="none"
    inplace : bool, default=False
        See :class:`_KeepsDerivative`.

    Notes
    -----
    In float64 ``Phi`` is :func:`scipy.special.ndtr`; in float32 it is the
    Abramowitz-Stegun formula 7.1.26 of ``erf`` (absolute error below 1e-7), the
    formula PyTorch's vectorised float32 kernel uses too.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import GELU
    >>> GELU().forward(np.array([[-1.0, 0.0, 2.0]])).round(4)
    array([[-0.1587,  0.    ,  1.9545]])
    """

    def __init__(self, approximate: str = "none", *, inplace: bool = False):
        super().__init__(inplace)
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def _evaluate(self, x, out, d_out):
        if self.approximate == "tanh":
            self._tanh_form(x, out, d_out)
            return
        cdf, e = _normal_cdf(x, d_out is not None)
        if d_out is not None:  # Phi + x phi
            np.multiply(x, e, out=e)
            e *= _INV_SQRT_2PI
            np.add(e, cdf, out=d_out)
        np.multiply(x, cdf, out=out)

    @staticmethod
    def _tanh_form(x, out, d_out):
        # tanh(u) is +-1 to float64 precision beyond |x| = 10: capping x there keeps
        # x^3 and the derivative's terms finite
        capped = np.clip(x, -10.0, 10.0)
        x2 = np.square(capped)
        u = x2 * 0.044715
        u += 1
        u *= capped
        u *= _SQRT_2_OVER_PI  # sqrt(2/pi) (x + 0.044715 x^3)
        half = np.tanh(u, out=u)
        half += 1
        half *= 0.5  # (1 + tanh(u)) / 2
        if d_out is not None:  # half + x (1 - tanh^2) u' / 2 = half + 2 x half (1 - half) u'
            x2 *= 3 * 0.044715
            x2 += 1
            x2 *= 2 * _SQRT_2_OVER_PI  # 2 u'
            d = np.subtract(1, half)
            d *= half
            d *= x
            d *= x2
            np.add(d, half, out=d_out)
        np.multiply(x, half, out=out)

    def extra_repr(self):
        parts = [] if self.approximate == "none" else [f"approximate={self.approximate!r}"]
        return ", ".join(parts + ([super().extra_repr()] if self.inplace else []))


class SiLU(_KeepsDerivative):
    """Sigmoid linear unit (swish): ``x * sigmoid(x)``.

    .. math::

        f(x) = x s, \\quad s = \\frac{1}{1 + e^{-x}}, \\qquad f'(x) = s (1 + x (1 - s)).

    Parameters
    ----------
    inplace : bool, default=False
        See :class:`_KeepsDerivative`.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import SiLU
    >>> SiLU().forward(np.array([[-1.0, 0.0, 2.0]])).round(4)
    array([[-0.2689,  0.    ,  1.7616]])
    """

    def _evaluate(self, x, out, d_out):
        s = _sigmoid(x)
        y = np.multiply(x, s, out=out)
        if d_out is not None:  # s + x s (1 - s), from s and y alone (x may be overwritten)
            np.subtract(1, s, out=d_out)
            d_out *= y
            d_out += s


class Mish(_KeepsDerivative):
    """Mish: ``x * tanh(softplus(x))``, ``softplus(x) = log(1 + e^x)``.

    With ``e = exp(x)`` and ``n = e^2 + 2 e``, ``tanh(softplus(x)) = n / (n + 2)``: one
    exponential gives the function and its derivative

    .. math::

        f(x) = x \\frac{n}{n + 2}, \\qquad
        f'(x) = \\frac{n}{n + 2} + \\frac{4 x e (1 + e)}{(n + 2)^2}.

    ``x`` is capped at 20 inside the exponential (beyond it ``n / (n + 2)`` is 1 in
    float64 and the second term vanishes), so nothing overflows.

    Parameters
    ----------
    inplace : bool, default=False
        See :class:`_KeepsDerivative`.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import Mish
    >>> Mish().forward(np.array([[-1.0, 0.0, 2.0]])).round(4)
    array([[-0.3034,  0.    ,  1.944 ]])
    """

    def _evaluate(self, x, out, d_out):
        # a maximum is cheaper than an element-wise cap, which most batches do not need
        capped = np.minimum(x, 20.0) if x.size and not x.max() <= 20 else x
        e = np.exp(capped)
        n = e + 2
        n *= e  # e^2 + 2 e
        w = n + 2
        if d_out is not None:
            np.subtract(n, e, out=d_out)  # e (1 + e)
            d_out *= capped
            d_out *= 4
            d_out /= w
            d_out /= w
        t = np.divide(n, w, out=n)  # tanh(softplus(x))
        if d_out is not None:
            d_out += t
        np.multiply(x, t, out=out)


class Softplus(_KeepsDerivative):
    """Smooth ReLU: ``log(1 + exp(beta x)) / beta``, and ``x`` itself where
    ``beta x > threshold`` (where the two agree to float64 precision; PyTorch's rule).

    .. math::

        f(x) = \\frac{1}{\\beta} \\log(1 + e^{\\beta x}), \\qquad
        f'(x) = \\frac{e^{\\beta x}}{1 + e^{\\beta x}}\\quad(1 \\text{ where } \\beta x > \\text{threshold}).

    Parameters
    ----------
    beta : float, default=1.0
        Must be > 0.
    threshold : float, default=20.0
    inplace : bool, default=False
        See :class:`_KeepsDerivative`.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import Softplus
    >>> Softplus().forward(np.array([[-1.0, 0.0, 30.0]])).round(4)
    array([[ 0.3133,  0.6931, 30.    ]])
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0, *, inplace: bool = False):
        super().__init__(inplace)
        self.beta = _check_real("Softplus beta", beta, positive=True)
        self.threshold = _check_real("Softplus threshold", threshold)

    def _evaluate(self, x, out, d_out):
        e = np.multiply(x, self.beta)
        linear = e > self.threshold
        np.minimum(e, self.threshold, out=e)  # exp never overflows
        np.exp(e, out=e)
        if d_out is not None:
            np.divide(e, e + 1, out=d_out)
            np.copyto(d_out, 1, where=linear)
        y = np.log1p(e, out=e)
        y /= self.beta
        np.copyto(y, x, where=linear)
        np.copyto(out, y)

    def extra_repr(self):
        parts = []
        if self.beta != 1:
            parts.append(f"beta={self.beta}")
        if self.threshold != 20:
            parts.append(f"threshold={self.threshold}")
        return ", ".join(parts + (["inplace=True"] if self.inplace else []))
