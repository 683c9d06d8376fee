"""``ParametricActivation``: an activation mixed with the identity by a learned weight per feature."""

from __future__ import annotations

import numbers

import numpy as np

from ..registry import ACTIVATIONS
from .module import Module, as_generator, check_int

__all__ = ["ParametricActivation"]


class ParametricActivation(Module):
    """``y = x + w * (f(x) - x)``: the activation ``f`` mixed with the identity by a learned
    weight ``w`` per feature (the input's axis 1).

    RealMLP's parametric activation: each unit learns how non-linear it is, from the
    identity (``w = 0``) to ``f`` (``w = 1``, the initial value) and beyond. Backward,
    with ``g = dL/dy`` and ``J_f`` the Jacobian of ``f``:

    .. math::

        \\frac{\\partial L}{\\partial x} = (1 - w) g + J_f(x)^T (w g), \\qquad
        \\frac{\\partial L}{\\partial w_c} = \\sum_{\\text{all but axis 1}} g (f(x) - x),

    for an element-wise ``f`` ``J_f^T (w g) = w f'(x) g``. The term ``J_f^T (w g)`` is
    ``f``'s own ``updateGradInput`` of ``w g``, so any activation works, including those
    that keep their derivative from the forward pass and row-wise ones (softmax).

    Parameters
    ----------
    activation : str or Module, default="selu"
        ``f``: a registered activation name (see :data:`sknn_scratch.registry.ACTIVATIONS`)
        or a module instance, which the wrapper holds (not a copy). It must keep the
        shape of its input and have no parameters of its own.
    n_features : int or None, default=None
        The size of the input's axis 1 (``(N, C)``, ``(N, C, L)``, ...): one weight per
        feature or channel. None: one weight shared by every feature. The estimators'
        builder gives the input's size.
    init : float, default=1.0
        The initial weight (1: the layer starts as ``f``).
    rng : None, int or numpy.random.Generator
        Accepted for uniformity with the other layers; the initial weights are not random.
    dtype : dtype, default=float64
        dtype of the weights; a floating input of another dtype converts them.

    Attributes
    ----------
    activation : Module
        ``f``. It follows the wrapper: training or evaluation mode, ``clearState``,
        ``astype``, inference copies (a copy holds an inference copy of ``f``) and
        pickling.
    weight : ndarray of shape (n_features,) or (1,)
    gradWeight : ndarray shaped like ``weight``

    Notes
    -----
    Weight decay does not apply to the weights (``_decayed`` is empty): decay would pull
    them towards 0, the identity. RealMLP's reference implementation trains them with a
    learning-rate factor of 0.1 and decays them by ``lr * weight_decay * 0.1**2`` per
    step (its decay multiplies the learning-rate factor in twice); with
    :class:`~sknn_scratch.optim.AdamW`, which decays by ``lr * weight_decay *
    lr_factor * decay_factor``, ``lr_factors={"weight": 0.1}`` and
    ``decay_factors={"weight": 0.1}`` on the instance do the same (the tabular
    estimators set them).

    An activation working in place (``inplace=True``) gets a copy of the input, which
    the mix needs.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import ParametricActivation
    >>> layer = ParametricActivation("relu", n_features=2)
    >>> layer.weight[...] = [1.0, 0.25]
    >>> layer.forward(np.array([[-2.0, -2.0], [3.0, 3.0]]))
    array([[ 0. , -1.5],
           [ 3. ,  3. ]])
    """

    _parameters = ("weight",)
    _gradients = ("gradWeight",)
    _decayed = ()
    _transient = (*Module._transient, "_cache_delta")

    def __init__(
        self,
        activation: str | Module = "selu",
        n_features: int | None = None,
        *,
        init: float = 1.0,
        rng=None,
        dtype=np.float64,
    ):
        super().__init__()
        if isinstance(activation, str):
            activation = ACTIVATIONS.get(activation)()
        if not isinstance(activation, Module):
            raise TypeError(
                f"ParametricActivation activation must be an activation name or a Module instance, "
                f"got {type(activation).__name__}: {activation!r}"
            )
        if any(leaf._parameters for leaf in activation.leaves()):
            raise ValueError(
                f"ParametricActivation wraps an activation without parameters, got {activation!r}, which has "
                f"{[name for leaf in activation.leaves() for name in leaf._parameters]}"
            )
        self.activation = activation
        self.n_features = None if n_features is None else check_int("ParametricActivation n_features", n_features, 1)
        if isinstance(init, bool) or not isinstance(init, numbers.Real) or not np.isfinite(init):
            raise ValueError(f"ParametricActivation init must be a finite number, got {init!r}")
        self.init = float(init)
        self.weight = np.empty(1 if self.n_features is None else self.n_features, dtype=dtype)
        self.gradWeight = np.zeros_like(self.weight)
        self._cache_delta = None
        self.reset_parameters(rng)

    @classmethod
    def infer_args(cls, sample_shape):
        """``n_features``: the size of a sample's first axis (the input's axis 1)."""
        return {"n_features": sample_shape[0]}

    def reset_parameters(self, rng=None):
        """Set every weight to ``init`` (``rng`` is validated, not used)."""
        as_generator(rng)
        self.weight.fill(self.init)

    def _shaped_weight(self, shape):
        """The weights broadcast against input of ``shape``."""
        if self.n_features is None:
            return self.weight.reshape(())
        if len(shape) < 2 or shape[1] != self.n_features:
            raise ValueError(
                f"{self!r} has {self.n_features} weights, one per entry of the input's axis 1; "
                f"got input of shape {tuple(shape)}"
            )
        return self.weight.reshape((1, -1) + (1,) * (len(shape) - 2))

    def output_shape(self, sample_shape):
        """The shape of one output sample: that of the input, which ``f`` must keep."""
        if self.n_features is not None and (len(sample_shape) < 1 or sample_shape[0] != self.n_features):
            raise ValueError(
                f"{self!r} has {self.n_features} weights, one per entry of the input's axis 1; got samples of "
                f"shape {tuple(sample_shape)}"
            )
        inner = tuple(self.activation.output_shape(tuple(sample_shape)))
        if inner != tuple(sample_shape):
            raise ValueError(f"{self!r}: the activation maps samples of shape {tuple(sample_shape)} to {inner}")
        return tuple(sample_shape)

    # -- forward and backward ---------------------------------------------------------------
    def _input(self, input):
        x = self._match_dtype(input)
        return x if x.dtype.kind == "f" else x.astype(np.float64)

    def _mix(self, x):
        """Run ``f`` on ``x`` and keep ``f(x) - x`` (what the weights' gradient needs); return it."""
        fx = self.activation.forward(x.copy() if getattr(self.activation, "inplace", False) else x)
        if np.shape(fx) != x.shape:
            raise ValueError(f"{self!r}: the activation maps input of shape {x.shape} to shape {np.shape(fx)}")
        self._cache_delta = np.subtract(fx, x)
        return self._cache_delta

    def _delta(self, x):
        """``f(x) - x`` of the last forward pass, or of a new one after ``clearState`` (which
        also gives ``f`` back what its backward pass needs)."""
        if self._cache_delta is not None and self._cache_delta.shape == x.shape:
            return self._cache_delta
        return self._mix(x)

    def updateOutput(self, input):
        x = self._input(input)
        w = self._shaped_weight(x.shape)
        y = self._mix(x) * w
        y += x
        self.output = y
        return y

    def updateGradInput(self, input, gradOutput):
        x = self._input(input)
        g = np.asarray(gradOutput, dtype=x.dtype)
        if g.shape != x.shape:
            raise ValueError(f"{self!r}: gradOutput of shape {g.shape} does not match the input's shape {x.shape}")
        self._delta(x)
        wg = g * self._shaped_weight(x.shape)
        # f gets w g, a fresh array (an in-place activation may overwrite it)
        grad = np.subtract(g, wg)
        grad += self.activation.updateGradInput(x, wg)
        self.gradInput = grad
        return grad

    def accGradParameters(self, input, gradOutput):
        x = self._input(input)
        self._shaped_weight(x.shape)
        contribution = np.multiply(gradOutput, self._delta(x), dtype=x.dtype)
        if self.n_features is None:
            self.gradWeight += contribution.sum()
        else:
            self.gradWeight += contribution.sum(axis=(0, *range(2, x.ndim)))

    # -- the held activation follows the wrapper --------------------------------------------
    def train(self):
        super().train()
        self.activation.train()

    def evaluate(self):
        super().evaluate()
        self.activation.evaluate()

    def clearState(self):
        super().clearState()
        self.activation.clearState()
        return self

    def astype(self, dtype):
        super().astype(dtype)
        self.activation.astype(dtype)
        return self

    def extra_repr(self):
        parts = [repr(self.activation)]
        if self.n_features is not None:
            parts.append(f"n_features={self.n_features}")
        return ", ".join(parts + ([] if self.init == 1 else [f"init={self.init}"]))
