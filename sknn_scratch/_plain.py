"""Plain descriptions of engine objects, for pickling estimators.

A :class:`~sknn_scratch.nn.Sequential`, and a module, a criterion or an optimizer
whose class is registered (see :mod:`sknn_scratch.registry`), is described by its registry kind and name and by its
attributes, themselves described the same way; a built-in callback (see
:mod:`sknn_scratch.callbacks`) by its class name and attributes; a ``numpy.random.Generator`` by the
state of its bit generator; a ``pathlib.Path`` by its text. What a pass leaves behind (outputs, input gradients,
``_cache*`` scratch arrays) and the parameter gradients are stored as None and come
back as None and as zeros. The result holds only dicts, lists, tuples, strings,
numbers and NumPy arrays, so a saved estimator holds no class of the engine (a format
such as ``skops.io`` then trusts it), its size does not depend on what the model
predicted last, and loading it imports nothing beyond registered components.

An object met twice (every Dropout layer of a network draws from one generator) is
described once: its description gets a number under the key ``"memo"``, and its other
occurrences are references ``{"__sknn_scratch__": "same", "memo": number}``. Loading
gives back one object, so what was shared stays shared.

Objects of other classes, including classes registered by a ``register`` call (not an
entry point), user-defined callbacks, and a :class:`~sknn_scratch.callbacks.ProgressBar`
printing to a file object, are kept as they are: pickle stores them by reference to
their module (a learning-rate schedule function, too).
"""

from __future__ import annotations

import itertools
import pathlib

import numpy as np

from . import callbacks
from .nn.container import Sequential
from .registry import REGISTRIES

__all__ = ["to_plain", "from_plain"]

#: the key that marks a described object
_TAG = "__sknn_scratch__"
#: the key holding the number of an object described once and referred to again
_MEMO = "memo"
_BIT_GENERATORS = {
    cls.__name__: cls
    for cls in (np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937, np.random.Philox, np.random.SFC64)
}
#: the built-in callbacks, by class name (exactly these classes: a subclass is the user's)
_CALLBACKS = {name: getattr(callbacks, name) for name in callbacks.__all__}


def _registered_name(cls):
    """``(kind, name)`` under which ``cls`` itself is registered, or None."""
    if cls is Sequential:
        return "container", "sequential"
    built_in = cls.__module__.startswith("sknn_scratch.")
    for kind, registry in REGISTRIES.items():
        for name, item in list(registry._items.items()):
            # by name only where any process finds the name again: built-ins and entry
            # points (a register() call runs only where its module was imported)
            if item is cls and (built_in or name in registry.from_entry_points):
                return kind, name
    return None


def _described_as(obj):
    """``(kind, name)`` of an object described by its attributes, or None."""
    cls = type(obj)
    if _CALLBACKS.get(cls.__name__) is cls:
        # a progress bar's file is the user's object, shared by its copies (see ProgressBar)
        if cls is callbacks.ProgressBar and obj.file is not None:
            return None
        return "callback", cls.__name__
    return _registered_name(cls)


def _dropped(cls, key):
    """True for an attribute that a description stores as None."""
    return key in getattr(cls, "_transient", ()) or key.startswith("_cache") or key in getattr(cls, "_gradients", ())


def to_plain(obj):
    """A description of ``obj`` made of plain values (see the module's docstring)."""
    seen = {}  # id -> (object, its description); holding the object keeps its id unique meanwhile
    numbers = itertools.count()

    def describe(value):
        if isinstance(value, (list, tuple)):
            return type(value)(describe(item) for item in value)
        if isinstance(value, dict):
            return {key: describe(item) for key, item in value.items()}
        if type(value) in (pathlib.PosixPath, pathlib.WindowsPath):
            return {_TAG: "path", "path": str(value)}
        if isinstance(value, np.random.Generator):
            found = ("generator", None)
        else:
            found = _described_as(value)
            if found is None:
                return value
        if id(value) in seen:
            first = seen[id(value)][1]
            if _MEMO not in first:
                first[_MEMO] = next(numbers)
            return {_TAG: "same", _MEMO: first[_MEMO]}
        kind, name = found
        description = {_TAG: kind}
        seen[id(value)] = (value, description)  # before the attributes: they may refer back to it
        if kind == "generator":
            description["state"] = value.bit_generator.state
        else:
            cls = type(value)
            description["name"] = name
            description["attrs"] = {
                key: None if _dropped(cls, key) else describe(item) for key, item in vars(value).items()
            }
        return description

    return describe(obj)


def from_plain(data):
    """The object that :func:`to_plain` described."""
    memo = {}

    def rebuild(value):
        if isinstance(value, (list, tuple)):
            return type(value)(rebuild(item) for item in value)
        if not isinstance(value, dict):
            return value
        kind = value.get(_TAG)
        if kind is None:
            return {key: rebuild(item) for key, item in value.items()}
        if kind == "same":
            try:
                return memo[value[_MEMO]]
            except KeyError:
                raise ValueError(f"the description refers to object {value[_MEMO]}, not described before") from None
        if kind == "path":
            return pathlib.Path(value["path"])
        if kind == "generator":
            state = value["state"]
            bit_generator = _BIT_GENERATORS[state["bit_generator"]]()
            bit_generator.state = state
            obj = np.random.Generator(bit_generator)
            if _MEMO in value:
                memo[value[_MEMO]] = obj
            return obj
        if kind == "callback":
            cls = _CALLBACKS[value["name"]]
        else:
            cls = Sequential if kind == "container" else REGISTRIES[kind].get(value["name"])
        obj = cls.__new__(cls)
        if _MEMO in value:
            memo[value[_MEMO]] = obj  # before the attributes: they may refer back to it
        vars(obj).update({key: rebuild(item) for key, item in value["attrs"].items()})
        for pname, gname in zip(getattr(cls, "_parameters", ()), getattr(cls, "_gradients", ()), strict=True):
            if getattr(obj, gname, None) is None:
                setattr(obj, gname, np.zeros_like(getattr(obj, pname), subok=False))
        return obj

    return rebuild(data)
