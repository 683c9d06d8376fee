"""The base class of every layer: the Torch7-style ``Module`` API of the seed notebook.

A module maps an input array to ``output`` in :meth:`Module.updateOutput` and maps
``dLoss/dOutput`` to ``gradInput = dLoss/dInput`` in :meth:`Module.updateGradInput`.
Parameter gradients *accumulate* in :meth:`Module.accGradParameters` (``+=``), so a
training loop calls :meth:`Module.zeroGradParameters` before each backward pass.

Beyond the notebook, every module declares the names of its parameter arrays in
``_parameters`` and of their gradients in ``_gradients``; the base class derives
``getParameters``, ``getGradParameters``, ``zeroGradParameters`` and the dtype
conversion :meth:`Module.astype` and :meth:`Module.flatten_parameters` from those two
tuples.
"""

from __future__ import annotations

import copy
import numbers

import numpy as np

__all__ = ["Module", "as_generator", "check_int"]


def check_int(name, value, minimum):
    """``value`` as an int, or a ValueError naming ``name`` unless it is an integer
    (not a bool) of at least ``minimum``."""
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


def _shaped_view(flat, like):
    """The 1-D contiguous ``flat`` viewed with the shape and memory order of ``like``."""
    if like.flags.f_contiguous and not like.flags.c_contiguous:
        return flat.reshape(like.shape[::-1]).T
    return flat.reshape(like.shape)


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
    #: names of non-trainable arrays that follow the dtype of the parameters
    _buffers: tuple[str, ...] = ()
    #: names of what a pass leaves behind for the next backward pass; with every
    #: attribute whose name starts with ``_cache``, :meth:`clearState` drops them
    _transient: tuple[str, ...] = ("output", "gradInput")

    def __init__(self):
        self.output = None
        self.gradInput = None
        self.training = True

    # -- the seed API -------------------------------------------------------------
    def forward(self, input):
        """Compute ``output`` for ``input`` and return it."""
        return self.updateOutput(input)

    def backward(self, input, gradOutput):
        """Back-propagate ``gradOutput``: compute ``gradInput`` and accumulate the
        parameter gradients. ``input`` must be the input of the forward pass that
        produced the loss."""
        self.updateGradInput(input, gradOutput)
        self.accGradParameters(input, gradOutput)
        return self.gradInput

    def updateOutput(self, input):
        """Compute and return ``self.output`` (override)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement updateOutput")

    def updateGradInput(self, input, gradOutput):
        """Compute and return ``self.gradInput`` (override)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement updateGradInput")

    def accGradParameters(self, input, gradOutput):
        """Accumulate the gradients of the parameters (no-op without parameters)."""

    def zeroGradParameters(self):
        """Set every parameter gradient to zero, in place."""
        for name in self._gradients:
            getattr(self, name).fill(0)

    def getParameters(self):
        """The list of parameter arrays (updated in place by optimizers)."""
        return [getattr(self, name) for name in self._parameters]

    def getGradParameters(self):
        """The list of gradient arrays, aligned with :meth:`getParameters`."""
        return [getattr(self, name) for name in self._gradients]

    def train(self):
        """Switch to training mode."""
        self.training = True

    def evaluate(self):
        """Switch to evaluation (inference) mode."""
        self.training = False

    # -- additions ----------------------------------------------------------------
    def leaves(self):
        """Every module of the tree that has no children, in order (``[self]`` for a
        module that is not a container)."""
        return [self]

    def flatten_parameters(self):
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
        distinct = {}  # an array shared by several modules (tied weights) gets one place
        for key, (m, p, g) in zip(keys, slots, strict=True):
            distinct.setdefault(key, (getattr(m, p), getattr(m, g)))
        params = np.empty(sum(v.size for v, _ in distinct.values()), dtype=dtypes.pop() if dtypes else np.float64)
        grads = np.empty_like(params)
        offset = 0
        for key, (value, grad) in distinct.items():
            views = []
            for array, flat in ((value, params), (grad, grads)):
                view = _shaped_view(flat[offset : offset + array.size], array)
                view[...] = array
                views.append(view)
            distinct[key] = views
            offset += value.size
        for key, (m, p, g) in zip(keys, slots, strict=True):
            setattr(m, p, distinct[key][0])
            setattr(m, g, distinct[key][1])
        return params, grads

    def __getstate__(self):
        """Pickles and copies leave out the ``_cache*`` scratch arrays of the last passes."""
        return {key: None if key.startswith("_cache") else value for key, value in vars(self).items()}

    def clearState(self):
        """Drop what the last passes left behind (``output``, ``gradInput``, the
        attributes in ``_transient`` and every ``_cache*`` scratch array); parameters,
        their gradients and buffers stay. Returns self."""
        for key in list(vars(self)):
            if key in self._transient or key.startswith("_cache"):
                setattr(self, key, None)
        return self

    def inference_copy(self):
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
    def dtype(self):
        """dtype of the parameters (None for a module without parameters)."""
        for name in self._parameters:
            return getattr(self, name).dtype
        return None

    def astype(self, dtype):
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
