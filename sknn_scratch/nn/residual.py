"""``Residual``: a chain of modules with a skip connection around it."""

from __future__ import annotations

import numpy as np

from .activation import _Elementwise
from .container import Sequential

__all__ = ["Residual"]


def _writes_in_place(module, end):
    """True when the leaf at ``end`` (0: first, -1: last) of ``module`` is an
    element-wise activation working in place, which overwrites its input in the
    forward pass and its ``gradOutput`` in the backward pass."""
    leaves = module.leaves()
    return bool(leaves) and isinstance(leaves[end], _Elementwise) and leaves[end].inplace


class Residual(Sequential):
    """``output = input + F(input)``, ``F`` the chain of ``modules`` (a :class:`Sequential`).

    The skip connection of residual networks: the chain learns a correction to the
    identity. Its output must have the input's shape. Backward, the gradient reaches the
    input along both paths:

    .. math::

        y = x + F(x), \\qquad \\frac{\\partial L}{\\partial x} = g + J_F(x)^T g,

    with ``g = dL/dy``; the parameters of ``F`` get the gradients ``F`` gives them for
    ``g``.

    Parameters
    ----------
    *modules : Module
        The chain ``F`` (``Residual()`` followed by :meth:`add` also works; with no
        module ``F`` is the identity and the output is ``2 * input``).

    Notes
    -----
    The chain must leave the input and ``gradOutput`` intact, since the skip connection
    adds them: when its first module is an element-wise activation working in place
    (``inplace=True``) it gets a copy of the input, and when its last one is, a copy of
    ``gradOutput``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import Linear, ReLU, Residual
    >>> block = Residual(Linear(4, 4, rng=0), ReLU(), Linear(4, 4, rng=1))
    >>> x = np.ones((2, 4))
    >>> bool(np.allclose(block.forward(x), x + block[2].output))
    True
    """

    def _check_shapes(self, input_shape, inner_shape):
        if tuple(inner_shape) != tuple(input_shape):
            raise ValueError(
                f"Residual: the chain maps input of shape {tuple(input_shape)} to shape {tuple(inner_shape)}; "
                "the skip connection needs both shapes equal"
            )

    def output_shape(self, sample_shape):
        """The input's shape, which the chain must keep (a ValueError naming both shapes
        otherwise)."""
        shape = tuple(sample_shape)
        for i, module in enumerate(self.modules):
            predict = getattr(module, "output_shape", None)
            if predict is None:
                raise NotImplementedError(f"Residual: {module!r} does not define output_shape")
            try:
                shape = tuple(predict(shape))
            except ValueError as exc:
                raise ValueError(f"Residual: samples of shape {tuple(sample_shape)} reach layer {i}: {exc}") from exc
        self._check_shapes(sample_shape, shape)
        return tuple(sample_shape)

    def updateOutput(self, input):
        x = np.asarray(input)
        inner = super().updateOutput(x.copy() if _writes_in_place(self, 0) else x)
        self._check_shapes(x.shape, np.shape(inner))
        self.output = x + inner
        return self.output

    def _chain_gradient(self, gradOutput):
        """``gradOutput`` as the chain may receive it: a copy when the chain overwrites it."""
        g = np.asarray(gradOutput)
        return g.copy() if _writes_in_place(self, -1) else g

    def backward(self, input, gradOutput, *, input_grad=True):
        """Back-propagate through the chain and add the skip connection's gradient:
        ``gradInput = gradOutput + (the chain's input gradient)``. With
        ``input_grad=False`` only the chain's parameter gradients are accumulated and
        ``gradInput`` is None (see :meth:`Sequential.backward`)."""
        inner = super().backward(input, self._chain_gradient(gradOutput), input_grad=input_grad)
        self.gradInput = gradOutput + inner if input_grad else None
        return self.gradInput

    def updateGradInput(self, input, gradOutput):
        inner = super().updateGradInput(input, self._chain_gradient(gradOutput))
        self.gradInput = gradOutput + inner
        return self.gradInput

    def accGradParameters(self, input, gradOutput):
        # the chain's modules receive the gradients of the last updateGradInput
        super().accGradParameters(input, gradOutput)

    def __repr__(self):
        # one line, as the block is written: a row of the estimators' summary() table
        return f"Residual({', '.join(repr(module) for module in self.modules)})"
