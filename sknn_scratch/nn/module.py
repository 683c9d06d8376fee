"""The base class of every layer, with Torch7's ``Module`` API.

A module maps an input array to ``output`` in :meth:`Module.updateOutput` and maps
``dLoss/dOutput`` to ``gradInput = dLoss/dInput`` in :meth:`Module.updateGradInput`.
Parameter gradients *accumulate* in :meth:`Module.accGradParameters` (``+=``), so a
training loop calls :meth:`Module.zeroGradParameters` before each backward pass.

Every module declares its state in its class header:

* ``_parameters`` and ``_gradients``: the names of the parameter arrays and of their
  gradients, in the same order (``getParameters``, ``getGradParameters``,
  ``zeroGradParameters``, :meth:`Module.astype` and :meth:`Module.flatten_parameters` are
  derived from them);
* ``_decayed``: the parameters that an L2 penalty or weight decay applies to (the
  weights of a linear or convolutional layer, not its offsets);
* ``_buffers``: arrays that are not trained but belong to the model (running
  statistics);
* ``_transient``: what a pass leaves behind for the next backward pass (``output``,
  ``gradInput``, masks, scratch arrays), dropped by :meth:`Module.clearState` and never
  saved.

A layer also says how it fits its input: :meth:`Module.infer_args` gives the
constructor arguments that follow from the shape of one input sample (a linear layer's
``n_in``), and :meth:`Module.output_shape` the shape of one output sample.
"""

from __future__ import annotations

import copy
import numbers
from typing import Self

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

__all__ = ["Module", "as_generator", "check_int"]


def check_int(name, value, minimum):
    """``value`` as an int, or a ValueError naming ``name`` unless it is an integer
    (not a bool) of at least ``minimum``."""
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, numbers.Integral) for v in value):
        # Keras's and PyTorch's (3, 3): one size serves every axis here
        fix = (
            f"give {name}={value[0]!r}, not {value!r}"
            if len(set(value)) == 1
            else f"{value!r}, a size per axis, is not supported"
        )
        raise ValueError(f"{name} is one integer, used along every axis: {fix}")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def as_generator(rng=None) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` from ``rng``.

    ``None`` gives a freshly seeded generator (the global NumPy state is never used),
    an int seeds a new generator, a ``Generator`` is returned as is and a legacy
    ``RandomState`` seeds a new generator from one draw.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, np.random.RandomState):
        return np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be None, an int, a numpy Generator or RandomState; got {rng!r}")


class Module:
    """Base class of all layers.

    Attributes
    ----------
    output : ndarray or None
        The result of the last :meth:`forward` call.
    gradInput : ndarray or None
        The gradient of the loss with respect to the input of the last :meth:`backward`.
    training : bool
        Training mode flag; :class:`Dropout` and :class:`BatchNormalization` behave
        differently in training and evaluation.
    """

    #: names of the parameter arrays (attributes) of the module
    _parameters: tuple[str, ...] = ()
    #: names of the gradient arrays, in the same order as ``_parameters``
    _gradients: tuple[str, ...] = ()
    #: names of the parameters an L2 penalty or weight decay applies to
    _decayed: tuple[str, ...] = ()
    #: names of non-trainable arrays that belong to the model and follow the dtype of the
    #: parameters (e.g. running statistics)
    _buffers: tuple[str, ...] = ()
    #: names of what a pass leaves behind (outputs, masks, scratch arrays): dropped by
    #: :meth:`clearState`, never saved
    _transient: tuple[str, ...] = ("output", "gradInput")

    def __init__(self):
        self.output = None
        self.gradInput = None
        self.training = True

    # -- Torch7's API -------------------------------------------------------------
    def forward(self, input: ArrayLike) -> np.ndarray:
        """Compute ``output`` for ``input`` and return it."""
        return self.updateOutput(input)

    def backward(self, input: ArrayLike, gradOutput: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Back-propagate ``gradOutput``: compute ``gradInput`` (:meth:`updateGradInput`)
        and accumulate the parameter gradients (:meth:`accGradParameters`). ``input``
        must be the input of the forward pass that produced the loss.

        ``input_grad=False`` skips the input gradient (a training loop does not need it
        for the first layer with parameters); ``gradInput`` is then None."""
        if input_grad:
            self.updateGradInput(input, gradOutput)
        else:
            self.gradInput = None
        if type(self).accGradParameters is not Module.accGradParameters:  # nothing to add otherwise
            self.accGradParameters(input, gradOutput)
        return self.gradInput

    def updateOutput(self, input: ArrayLike) -> np.ndarray:
        """Compute and return ``self.output`` (override)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement updateOutput")

    def updateGradInput(self, input: ArrayLike, gradOutput: np.ndarray) -> np.ndarray:
        """Compute and return ``self.gradInput`` (override)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement updateGradInput")

    def accGradParameters(self, input: ArrayLike, gradOutput: np.ndarray) -> None:
        """Accumulate the gradients of the parameters (no-op without parameters)."""

    def zeroGradParameters(self) -> None:
        """Set every parameter gradient to zero, in place."""
        for name in self._gradients:
            getattr(self, name).fill(0)

    def getParameters(self) -> list:
        """The list of parameter arrays (updated in place by optimizers)."""
        return [getattr(self, name) for name in self._parameters]

    def getGradParameters(self) -> list:
        """The list of gradient arrays, aligned with :meth:`getParameters`."""
        return [getattr(self, name) for name in self._gradients]

    def train(self) -> None:
        """Switch to training mode."""
        self.training = True

    def evaluate(self) -> None:
        """Switch to evaluation (inference) mode."""
        self.training = False

    # -- additions ----------------------------------------------------------------
    @classmethod
    def infer_args(cls, sample_shape: tuple[int, ...]) -> dict:
        """The constructor arguments that follow from the shape of one input sample
        (e.g. a linear layer's ``n_in``); the estimators' builder fills them in when a
        layer spec does not give them. None by default."""
        return {}

    def output_shape(self, sample_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of one output sample for input samples of ``sample_shape``.

        Layers compute it from their settings. This default, for modules that do not,
        runs an evaluation-mode forward pass of one zero sample on an inference copy
        (the module itself is left as it was)."""
        probe = np.zeros((1, *sample_shape), dtype=self.dtype or np.float64)
        return tuple(self.inference_copy().forward(probe).shape[1:])

    def parameter_factors(self) -> list[tuple[float, float]]:
        """``(learning-rate factor, weight-decay factor)`` of each parameter, in the order
        of ``_parameters``: ``(1, 1)`` for the parameters in ``_decayed`` and ``(1, 0)``
        for the others, unless the instance's optional dicts ``lr_factors`` and
        ``decay_factors`` (parameter name to factor) say otherwise. The optimizers and
        the L2 penalty apply them to the flat parameter vector (see
        :func:`factor_vectors`)."""
        lr = getattr(self, "lr_factors", None) or {}
        decay = getattr(self, "decay_factors", None) or {}
        return [
            (float(lr.get(name, 1.0)), float(decay.get(name, 1.0 if name in self._decayed else 0.0)))
            for name in self._parameters
        ]

    def leaves(self) -> list[Module]:
        """Every module of the tree that has no children, in order (``[self]`` for a
        module that is not a container)."""
        return [self]

    def flatten_parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """Move every parameter of the tree into one contiguous vector, and every
        gradient into another, leaving views of them in the modules (Torch7's
        ``getParameters``).

        An optimizer then updates the whole network with a few operations on two
        arrays. The values are kept; each array keeps its shape and memory order.
        Assigning a new array to a module's parameter afterwards detaches it from the
        vectors: call this again.

        Returns
        -------
        params, grads : ndarray of shape (n_parameters,)
            The vectors, in the order of :meth:`leaves` and of each module's
            ``_parameters``.
        """
        leaves = list({id(m): m for m in self.leaves()}.values())  # a module used twice counts once
        slots = [(m, p, g) for m in leaves for p, g in zip(m._parameters, m._gradients, strict=True)]
        dtypes = {getattr(m, p).dtype for m, p, _ in slots}
        if len(dtypes) > 1:
            raise ValueError(f"parameters of several dtypes {sorted(map(str, dtypes))}: convert them with astype first")
        keys = [id(getattr(m, p)) for m, p, _ in slots]
        distinct: dict = {}  # an array shared by several modules (tied weights) gets one place
        for key, (m, p, g) in zip(keys, slots, strict=True):
            distinct.setdefault(key, (getattr(m, p), getattr(m, g)))
        params = np.empty(sum(v.size for v, _ in distinct.values()), dtype=dtypes.pop() if dtypes else np.float64)
        grads = np.empty_like(params)
        offset = 0
        for key, (value, grad) in distinct.items():
            views = []
            for array, flat in ((value, params), (grad, grads)):
                piece = flat[offset : offset + array.size]  # viewed with the array's shape and memory order
                fortran = array.flags.f_contiguous and not array.flags.c_contiguous
                view = piece.reshape(array.shape[::-1]).T if fortran else piece.reshape(array.shape)
                view[...] = array
                views.append(view)
            distinct[key] = views
            offset += value.size
        for key, (m, p, g) in zip(keys, slots, strict=True):
            setattr(m, p, distinct[key][0])
            setattr(m, g, distinct[key][1])
        return params, grads

    def factor_vectors(self) -> tuple[np.ndarray | None, np.ndarray]:
        """The learning-rate and weight-decay factor of every parameter value (see
        :meth:`parameter_factors`), as two vectors aligned with those of
        :meth:`flatten_parameters`, in the parameters' dtype. The first is None when
        every factor is 1 (nothing to apply)."""
        seen, lr, decay, dtype = set(), [], [], np.float64
        for module in {id(m): m for m in self.leaves()}.values():
            for name, (lr_factor, decay_factor) in zip(module._parameters, module.parameter_factors(), strict=True):
                value = getattr(module, name)
                dtype = value.dtype
                if id(value) not in seen:  # an array shared by several modules (tied weights) counts once
                    seen.add(id(value))
                    lr.append(np.full(value.size, lr_factor, dtype=dtype))
                    decay.append(np.full(value.size, decay_factor, dtype=dtype))
        lr_vector = np.concatenate(lr) if lr else np.empty(0, dtype=dtype)
        decay_vector = np.concatenate(decay) if decay else np.empty(0, dtype=dtype)
        return (None if np.all(lr_vector == 1) else lr_vector), decay_vector

    def __getstate__(self):
        """Pickles and copies leave out what the last passes left behind (``_transient``)."""
        return {key: None if key in self._transient else value for key, value in vars(self).items()}

    def clearState(self) -> Self:
        """Drop what the last passes left behind (the attributes named in
        ``_transient``); parameters, their gradients and buffers stay. Returns self."""
        for key in self._transient:
            if key in vars(self):
                setattr(self, key, None)
        return self

    def inference_copy(self) -> Self:
        """A copy in evaluation mode that shares this module's parameters and buffers
        (read, never written) but owns everything a pass writes.

        Modules held in attributes (a container's ``modules``, a plugin's sub-modules)
        are inference copies too. A forward pass on the copy changes nothing in this
        module, so prediction may run on any number of copies of one network at once,
        from as many threads. A copy owns scratch arrays of its own: use each copy from
        one thread at a time."""
        twin = copy.copy(self)
        Module.clearState(twin)  # the copy's own attributes only
        twin.training = False
        for key, value in vars(twin).items():
            copied = map_held_modules(value, Module.inference_copy)
            if copied is not None:
                setattr(twin, key, copied)
        return twin

    @property
    def dtype(self) -> np.dtype | None:
        """dtype of the parameters (None for a module without parameters)."""
        for name in self._parameters:
            return getattr(self, name).dtype
        return None

    def astype(self, dtype: DTypeLike) -> Self:
        """Convert parameters, gradients and buffers to ``dtype`` in place; return self."""
        dtype = np.dtype(dtype)
        for name in self._parameters + self._gradients + self._buffers:
            value = getattr(self, name, None)
            if isinstance(value, np.ndarray) and value.dtype != dtype:
                setattr(self, name, value.astype(dtype))
        return self

    def _match_dtype(self, input):
        """Make the parameters follow a floating input's dtype; return the input as an
        array of the parameters' dtype (integer input is cast to it). Flattened
        parameters (views of one vector, see :meth:`flatten_parameters`) keep their
        dtype: the input is cast to it instead."""
        input = np.asarray(input)
        own = self.dtype
        if own is None or input.dtype == own:
            return input
        flattened = any(getattr(self, name).base is not None for name in self._parameters)
        if input.dtype.kind == "f" and input.dtype.itemsize >= 4 and not flattened:
            self.astype(input.dtype)
            return input
        return input.astype(own)

    def extra_repr(self) -> str:
        """Arguments shown inside the parentheses of ``repr``."""
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"


def map_held_modules(value, fn):
    """``value`` with ``fn`` applied to the modules it holds (a module itself, the items
    of a list or tuple, the values of a dict), or None when it holds none."""
    if isinstance(value, Module):
        return fn(value)
    if isinstance(value, (list, tuple)) and any(isinstance(v, Module) for v in value):
        items = [fn(v) if isinstance(v, Module) else v for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict) and any(isinstance(v, Module) for v in value.values()):
        return {k: fn(v) if isinstance(v, Module) else v for k, v in value.items()}
    return None
