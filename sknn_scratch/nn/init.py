"""Weight initialisers.

An initialiser is a function ``init(rng, shape, fan_in, fan_out, dtype) -> ndarray``.
They are looked up by name through :func:`get_initializer`:

``"uniform"``
    Torch7's default: ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.
``"glorot_uniform"``
    ``U(-b, b)`` with ``b = sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio, 2010), the
    initialisation of scikit-learn's MLP for the identity, tanh and relu activations.
``"glorot_uniform_logistic"``
    The same with ``b = sqrt(2 / (fan_in + fan_out))``, MLP's choice for logistic units.
``"he_uniform"``
    ``U(-b, b)`` with ``b = sqrt(6 / fan_in)``: variance ``2 / fan_in`` (He et al.,
    2015), for ReLU-like units; PyTorch's ``kaiming_uniform_(nonlinearity="relu")``.
``"he_normal"``
    ``N(0, 2 / fan_in)`` (standard deviation ``sqrt(2 / fan_in)``, not truncated);
    PyTorch's ``kaiming_normal_(nonlinearity="relu")``.
``"lecun_normal"``
    ``N(0, 1 / fan_in)`` (not truncated): the initialisation under which SELU networks
    keep unit variance (Klambauer et al., 2017).
``"zeros"``
    All zeros.

``fan_in`` and ``fan_out`` are the numbers of inputs and outputs of a unit: ``n_in`` and
``n_out`` of a dense layer, ``in_channels * k`` and ``out_channels * k`` (``k * k`` in
2-D) of a convolution. The numbers are drawn in float64 and converted to ``dtype``.
"""

from __future__ import annotations

import difflib

import numpy as np

__all__ = [
    "uniform",
    "glorot_uniform",
    "glorot_uniform_logistic",
    "he_uniform",
    "he_normal",
    "lecun_normal",
    "zeros",
    "get_initializer",
]


def uniform(rng, shape, fan_in, fan_out, dtype=np.float64):
    """``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``: Torch7's default initialisation."""
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype, copy=False)


def glorot_uniform(rng, shape, fan_in, fan_out, dtype=np.float64, factor=6.0):
    """Glorot-uniform: ``U(-b, b)`` with ``b = sqrt(factor / (fan_in + fan_out))``."""
    bound = np.sqrt(factor / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=shape).astype(dtype, copy=False)


def glorot_uniform_logistic(rng, shape, fan_in, fan_out, dtype=np.float64):
    """Glorot-uniform with gain for logistic units (``factor=2``)."""
    return glorot_uniform(rng, shape, fan_in, fan_out, dtype, factor=2.0)


def he_uniform(rng, shape, fan_in, fan_out, dtype=np.float64):
    """He-uniform: ``U(-b, b)`` with ``b = sqrt(6 / fan_in)``."""
    bound = np.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype, copy=False)


def he_normal(rng, shape, fan_in, fan_out, dtype=np.float64):
    """He-normal: ``N(0, 2 / fan_in)``."""
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape).astype(dtype, copy=False)


def lecun_normal(rng, shape, fan_in, fan_out, dtype=np.float64):
    """LeCun-normal: ``N(0, 1 / fan_in)``."""
    return rng.normal(0.0, np.sqrt(1.0 / fan_in), size=shape).astype(dtype, copy=False)


def zeros(rng, shape, fan_in, fan_out, dtype=np.float64):
    """All zeros."""
    return np.zeros(shape, dtype=dtype)


_INITIALIZERS = {
    "uniform": uniform,
    "glorot_uniform": glorot_uniform,
    "glorot_uniform_logistic": glorot_uniform_logistic,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_normal": lecun_normal,
    "zeros": zeros,
}


def get_initializer(init):
    """Return the initialiser function for a name or a callable (``None`` -> ``"uniform"``)."""
    if init is None:
        return uniform
    if callable(init):
        return init
    try:
        return _INITIALIZERS[init]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(init), list(_INITIALIZERS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown initializer {init!r}. Known initializers: {sorted(_INITIALIZERS)}.{hint}") from None
