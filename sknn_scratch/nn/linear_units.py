"""Linear units: activations that are linear for positive inputs.

:class:`LeakyReLU` and :class:`PReLU` (a learned slope) are linear on both sides of
zero; :class:`ELU` and :class:`SELU` are exponential below it. The first three keep
the derivative of their forward pass for the backward pass (see
:class:`~sknn_scratch.nn.modern_activation._KeepsDerivative`).
"""

from __future__ import annotations

import numpy as np

from .modern_activation import _check_real, _KeepsDerivative
from .module import Module, as_generator, check_int

__all__ = ["ELU", "SELU", "LeakyReLU", "PReLU"]


def _exponential_unit(x, out, d_out, alpha, scale):
    """``scale * (x if x > 0 else alpha (e^x - 1))`` into ``out`` and its derivative
    ``scale * (1 if x > 0 else alpha e^x)`` into ``d_out`` (ELU, SELU).

    One exponential of ``min(x, 0)`` serves both (it is 1 where ``x > 0``). In float32
    ``e^m - 1`` replaces ``expm1(m)``: NumPy's float32 ``expm1`` is several times slower
    than its ``exp``, and the difference, an absolute error below float32's resolution
    near 1, never shows in float32 results; float64 keeps ``expm1``'s accuracy near 0."""
    m = np.minimum(x, 0)
    pos = x - m  # max(x, 0), taken before ``out`` (which may be ``x``) is written
    e = m if d_out is None else d_out
    if x.dtype == np.float32:
        np.exp(m, out=e)
        np.subtract(e, 1, out=out)
    else:
        np.expm1(m, out=out)
        np.add(out, 1, out=e)
    out *= alpha * scale  # the negative part; 0 where x > 0
    if scale != 1:
        pos *= scale
    out += pos
    if d_out is not None:  # alpha scale e^x below 0, scale above: alpha scale e + (scale - alpha scale) [x > 0]
        d_out *= alpha * scale
        np.multiply(pos > 0, scale - alpha * scale, out=pos)
        d_out += pos


class ELU(_KeepsDerivative):
    """Exponential linear unit.

    .. math::

        f(x) = \\begin{cases} x & x > 0 \\\\ \\alpha (e^x - 1) & x \\le 0 \\end{cases}, \\qquad
        f'(x) = \\begin{cases} 1 & x > 0 \\\\ \\alpha e^x & x \\le 0 \\end{cases}.

    Parameters
    ----------
    alpha : float, default=1.0
    inplace : bool, default=False
        See :class:`_KeepsDerivative`.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import ELU
    >>> ELU().forward(np.array([[-1.0, 0.0, 2.0]])).round(4)
    array([[-0.6321,  0.    ,  2.    ]])
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        self.alpha = _check_real("ELU alpha", alpha)

    def _evaluate(self, x, out, d_out):
        _exponential_unit(x, out, d_out, self.alpha, 1.0)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SELU(_KeepsDerivative):
    """Scaled exponential linear unit: ``scale * ELU(x, alpha)`` with the fixed
    constants of Klambauer et al. (2017), ``alpha = 1.6732632423543772`` and
    ``scale = 1.0507009873554805``, which keep activations near zero mean and unit
    variance in deep networks initialised with ``"lecun_normal"``.

    Parameters
    ----------
    inplace : bool, default=False
        See :class:`_KeepsDerivative`.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import SELU
    >>> SELU().forward(np.array([[-1.0, 0.0, 2.0]])).round(4)
    array([[-1.1113,  0.    ,  2.1014]])
    """

    ALPHA = 1.6732632423543772848170429916717
    SCALE = 1.0507009873554804934193349852946

    def _evaluate(self, x, out, d_out):
        _exponential_unit(x, out, d_out, self.ALPHA, self.SCALE)


class LeakyReLU(_KeepsDerivative):
    """``x`` for ``x > 0``, ``negative_slope * x`` otherwise; derivative 1 or
    ``negative_slope``.

    Parameters
    ----------
    negative_slope : float, default=0.01
    inplace : bool, default=False
        See :class:`_KeepsDerivative`.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import LeakyReLU
    >>> LeakyReLU(0.1).forward(np.array([[-1.0, 0.0, 2.0]]))
    array([[-0.1,  0. ,  2. ]])
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__(inplace)
        self.negative_slope = _check_real("LeakyReLU negative_slope", negative_slope)

    def _evaluate(self, x, out, d_out):
        slope = np.empty_like(x) if d_out is None else d_out  # the derivative
        slope.fill(self.negative_slope)
        np.copyto(slope, 1, where=x > 0)
        np.multiply(x, slope, out=out)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class PReLU(Module):
    """Leaky ReLU with a learned slope: ``x`` for ``x > 0``, ``a * x`` otherwise.

    One slope for every element (``n_parameters=1``) or one per feature or channel,
    the axis 1 of the input (``(N, F)``, ``(N, C, L)``, ``(N, C, H, W)``).

    .. math::

        y = \\max(x, 0) + a \\min(x, 0), \\qquad
        \\frac{\\partial L}{\\partial x} = g \\cdot (1 \\text{ if } x > 0 \\text{ else } a), \\qquad
        \\frac{\\partial L}{\\partial a_c} = \\sum_{\\text{all but axis 1}} g \\min(x, 0).

    Parameters
    ----------
    n_parameters : int, default=1
        1, or the size of the input's axis 1.
    init : float, default=0.25
        The initial slope.
    rng : None, int or numpy.random.Generator
        Accepted for uniformity with the other layers; the initial slopes are not random.
    dtype : dtype, default=float64
        dtype of the slopes; a floating input of another dtype converts them.

    Attributes
    ----------
    slope : ndarray of shape (n_parameters,)
    gradSlope : ndarray of shape (n_parameters,)

    Notes
    -----
    Weight decay does not apply to the slopes (``_decayed`` is empty): decay would pull
    them to 0, towards a plain ReLU.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import PReLU
    >>> PReLU().forward(np.array([[-1.0, 0.0, 2.0]]))
    array([[-0.25,  0.  ,  2.  ]])
    """

    _parameters = ("slope",)
    _gradients = ("gradSlope",)
    _decayed = ()

    def __init__(self, n_parameters: int = 1, init: float = 0.25, *, rng=None, dtype=np.float64):
        super().__init__()
        self.n_parameters = check_int("PReLU n_parameters", n_parameters, 1)
        if isinstance(init, str):
            raise ValueError(f"PReLU init is the initial slope, a number; got the string {init!r}")
        self.init = _check_real("PReLU init", init)
        self.slope = np.empty(self.n_parameters, dtype=dtype)
        self.gradSlope = np.zeros_like(self.slope)
        self.reset_parameters(rng)

    @classmethod
    def infer_args(cls, sample_shape):
        """Nothing: one slope unless ``n_parameters`` is given (PyTorch's default)."""
        return {}

    def reset_parameters(self, rng=None):
        """Set every slope to ``init`` (``rng`` is validated, not used)."""
        as_generator(rng)
        self.slope.fill(self.init)

    def _shaped_slope(self, shape):
        """The slopes broadcast against input of ``shape``."""
        if self.n_parameters == 1:
            return self.slope.reshape(())
        if len(shape) < 2 or shape[1] != self.n_parameters:
            raise ValueError(
                f"{self!r} has {self.n_parameters} slopes, one per entry of the input's axis 1; "
                f"got input of shape {tuple(shape)}"
            )
        return self.slope.reshape((1, -1) + (1,) * (len(shape) - 2))

    def output_shape(self, sample_shape):
        """The shape of one output sample: that of the input."""
        if self.n_parameters > 1 and (len(sample_shape) < 1 or sample_shape[0] != self.n_parameters):
            raise ValueError(
                f"{self!r} has {self.n_parameters} slopes, one per entry of the input's axis 1; got samples of "
                f"shape {tuple(sample_shape)}"
            )
        return tuple(sample_shape)

    def updateOutput(self, input):
        x = self._match_dtype(input)
        a = self._shaped_slope(x.shape)
        y = np.minimum(x, 0)
        y *= a
        y += np.maximum(x, 0)
        self.output = y
        return y

    def updateGradInput(self, input, gradOutput):
        x = self._match_dtype(input)
        self.gradInput = np.asarray(gradOutput) * np.where(x > 0, 1, self._shaped_slope(x.shape)).astype(x.dtype)
        return self.gradInput

    def accGradParameters(self, input, gradOutput):
        x = self._match_dtype(input)
        self._shaped_slope(x.shape)
        contribution = np.minimum(x, 0)
        contribution *= gradOutput
        if self.n_parameters == 1:
            self.gradSlope += contribution.sum()
        else:
            self.gradSlope += contribution.sum(axis=(0, *range(2, x.ndim)))

    def extra_repr(self):
        parts = [] if self.n_parameters == 1 else [f"n_parameters={self.n_parameters}"]
        return ", ".join(parts + ([] if self.init == 0.25 else [f"init={self.init}"]))
