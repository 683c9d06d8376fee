"""Plain descriptions of engine objects, for pickling estimators.

A :class:`~sknn_scratch.nn.Sequential`, and a module, a criterion or an optimizer
whose class is registered (see :mod:`sknn_scratch.registry`), is described by its registry kind and name and by its
attributes, themselves described the same way; a ``numpy.random.Generator`` by the
state of its bit generator. What a pass leaves behind (outputs, input gradients,
``_cache*`` scratch arrays) and the parameter gradients are stored as None and come
back as None and as zeros. The result holds only dicts, lists, tuples, strings,
numbers and NumPy arrays, so a saved estimator holds no class of the engine (a format
such as ``skops.io`` then trusts it), its size does not depend on what the model
predicted last, and loading it imports nothing beyond registered components.

Objects of other classes, including classes registered by a ``register`` call (not an
entry point), are kept as they are: pickle stores them by reference to their module.
"""

from __future__ import annotations

import numpy as np

from .nn.container import Sequential
from .registry import REGISTRIES

__all__ = ["to_plain", "from_plain"]

#: the key that marks a described object
_TAG = "__sknn_scratch__"
_BIT_GENERATORS = {
    cls.__name__: cls
    for cls in (np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937, np.random.Philox, np.random.SFC64)
}


def _registered_name(cls):
    """``(kind, name)`` under which ``cls`` itself is registered, or None."""
    if cls is Sequential:
        return "container", "sequential"
    built_in = cls.__module__.startswith("sknn_scratch.")
    for kind, registry in REGISTRIES.items():
        for name, item in registry._items.items():
            # by name only where any process finds the name again: built-ins and entry
            # points (a register() call runs only where its module was imported)
            if item is cls and (built_in or name in registry.from_entry_points):
                return kind, name
    return None


def _dropped(cls, key):
    """True for an attribute that a description stores as None."""
    return key in getattr(cls, "_transient", ()) or key.startswith("_cache") or key in getattr(cls, "_gradients", ())


def to_plain(obj):
    """A description of ``obj`` made of plain values (see the module's docstring)."""
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_plain(value) for value in obj)
    if isinstance(obj, dict):
        return {key: to_plain(value) for key, value in obj.items()}
    if isinstance(obj, np.random.Generator):
        return {_TAG: "generator", "state": obj.bit_generator.state}
    found = _registered_name(type(obj))
    if found is None:
        return obj
    cls = type(obj)
    attrs = {key: None if _dropped(cls, key) else to_plain(value) for key, value in vars(obj).items()}
    return {_TAG: found[0], "name": found[1], "attrs": attrs}


def from_plain(data):
    """The object that :func:`to_plain` described."""
    if isinstance(data, (list, tuple)):
        return type(data)(from_plain(value) for value in data)
    if not isinstance(data, dict):
        return data
    kind = data.get(_TAG)
    if kind is None:
        return {key: from_plain(value) for key, value in data.items()}
    if kind == "generator":
        state = data["state"]
        bit_generator = _BIT_GENERATORS[state["bit_generator"]]()
        bit_generator.state = state
        return np.random.Generator(bit_generator)
    cls = Sequential if kind == "container" else REGISTRIES[kind].get(data["name"])
    obj = cls.__new__(cls)
    vars(obj).update({key: from_plain(value) for key, value in data["attrs"].items()})
    for pname, gname in zip(getattr(cls, "_parameters", ()), getattr(cls, "_gradients", ()), strict=True):
        if getattr(obj, gname, None) is None:
            setattr(obj, gname, np.zeros_like(getattr(obj, pname), subok=False))
    return obj
