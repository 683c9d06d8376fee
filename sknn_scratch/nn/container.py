"""``Sequential``: modules applied one after another."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .module import Module

__all__ = ["Sequential"]


class Sequential(Module):
    """A chain of modules: ``y_0 = m_0(input)``, ``y_i = m_i(y_{i-1})``.

    :meth:`backward` walks the chain in reverse using the outputs stored by the last
    :meth:`forward`, so the gradient belongs to exactly the network that produced the
    loss: a :class:`Dropout` mask is reused, not redrawn, and batch statistics are
    updated once per forward pass.

    Parameters
    ----------
    *modules : Module
        Optional initial modules (``Sequential()`` followed by :meth:`add` also works).

    Examples
    --------
    >>> import numpy as np
    >>> from sknn_scratch.nn import Sequential, Linear, ReLU, LogSoftmax
    >>> net = Sequential(Linear(4, 8, rng=0), ReLU(), Linear(8, 3, rng=1), LogSoftmax())
    >>> net.forward(np.zeros((2, 4))).shape
    (2, 3)
    """

    def __init__(self, *modules):
        super().__init__()
        for module in modules:
            if not isinstance(module, Module):
                raise TypeError(f"Sequential takes Modules, got {type(module).__name__}: {module!r}")
        self.modules = list(modules)

    def add(self, module: Module) -> None:
        """Append a module to the chain."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.add expects a Module, got {type(module).__name__}: {module!r}")
        self.modules.append(module)

    def updateOutput(self, input):
        out = input
        for i, module in enumerate(self.modules):
            try:
                out = module.updateOutput(out)
            except Exception as exc:
                exc.add_note(f"in forward of layer {i} of Sequential: {module!r}")
                raise
        self.output = out
        return out

    def backward(self, input: ArrayLike, gradOutput: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Back-propagate through the chain, last module first, each module's
        ``backward`` receiving the input it had in the last :meth:`forward`; return
        ``gradInput``.

        ``input_grad=False`` skips what only the gradient with respect to ``input``
        needs (a training loop never uses it): modules before the first one with
        parameters are not visited, that one computes no input gradient, and
        ``gradInput`` is None.
        """
        first = 0
        if not input_grad:
            has_parameters = (i for i, m in enumerate(self.modules) if any(leaf._parameters for leaf in m.leaves()))
            first = next(has_parameters, len(self.modules))
        grad = gradOutput
        for i in range(len(self.modules) - 1, first - 1, -1):
            module = self.modules[i]
            layer_input = self.modules[i - 1].output if i > 0 else input
            try:
                grad = module.backward(layer_input, grad, input_grad=input_grad or i > first)
            except Exception as exc:
                exc.add_note(f"in backward of layer {i} of Sequential: {module!r}")
                raise
        self.gradInput = grad if input_grad else None
        return self.gradInput

    def updateGradInput(self, input, gradOutput):
        grad = gradOutput
        for i in range(len(self.modules) - 1, -1, -1):
            layer_input = self.modules[i - 1].output if i > 0 else input
            grad = self.modules[i].updateGradInput(layer_input, grad)
        self.gradInput = grad
        return grad

    def accGradParameters(self, input, gradOutput):
        # gradOutput of layer i is gradInput of layer i + 1, from the last updateGradInput
        for i, module in enumerate(self.modules):
            layer_input = self.modules[i - 1].output if i > 0 else input
            layer_grad = self.modules[i + 1].gradInput if i + 1 < len(self.modules) else gradOutput
            module.accGradParameters(layer_input, layer_grad)

    def output_shape(self, sample_shape: tuple[int, ...]) -> tuple[int, ...]:
        shape = tuple(sample_shape)
        for module in self.modules:
            shape = tuple(module.output_shape(shape))
        return shape

    def zeroGradParameters(self):
        for module in self.modules:
            module.zeroGradParameters()

    def getParameters(self):
        """One list of parameters per module (a nested list, as Torch7's containers give)."""
        return [module.getParameters() for module in self.modules]

    def getGradParameters(self):
        """One list of gradients per module, aligned with :meth:`getParameters`."""
        return [module.getGradParameters() for module in self.modules]

    def leaves(self):
        return [leaf for module in self.modules for leaf in module.leaves()]

    def clearState(self):
        super().clearState()
        for module in self.modules:
            module.clearState()
        return self

    def train(self):
        self.training = True
        for module in self.modules:
            module.train()

    def evaluate(self):
        self.training = False
        for module in self.modules:
            module.evaluate()

    @property
    def dtype(self):
        for module in self.modules:
            if module.dtype is not None:
                return module.dtype
        return None

    def astype(self, dtype):
        for module in self.modules:
            module.astype(dtype)
        return self

    def __getitem__(self, index: int) -> Module:
        return self.modules[index]

    def __len__(self) -> int:
        return len(self.modules)

    def __iter__(self):
        return iter(self.modules)

    def __repr__(self):
        lines = [f"  ({i}): {module!r}".replace("\n", "\n  ") for i, module in enumerate(self.modules)]
        return "Sequential(\n" + "\n".join(lines) + "\n)" if lines else "Sequential()"
