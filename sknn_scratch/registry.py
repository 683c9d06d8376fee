"""Registries of components looked up by lowercase name.

Five registries exist, one per kind of component:

============  ==============================  ===============================
kind          entry-point group               examples
============  ==============================  ===============================
layer         ``sknn_scratch.layers``         ``"linear"``, ``"conv2d"``
activation    ``sknn_scratch.activations``    ``"relu"``, ``"tanh"``
criterion     ``sknn_scratch.criteria``       ``"squared_error"``, ``"nll"``
optimizer     ``sknn_scratch.optimizers``     ``"sgd"``, ``"adam"``
schedule      ``sknn_scratch.schedules``      ``"cosine"``, ``"one_cycle"``
============  ==============================  ===============================

A third-party package adds a component either by calling :func:`register` or by
declaring an entry point in its own metadata, for example in ``pyproject.toml``::

    [project.entry-points."sknn_scratch.layers"]
    gaussian_noise = "my_package.layers:GaussianNoise"

Entry points are read lazily, the first time a name is not found (or when
:meth:`Registry.names` is asked for the complete list).
"""

from __future__ import annotations

import difflib
import warnings
from importlib import metadata

__all__ = [
    "Registry",
    "UnknownComponentError",
    "LAYERS",
    "ACTIVATIONS",
    "CRITERIA",
    "OPTIMIZERS",
    "SCHEDULES",
    "REGISTRIES",
    "register",
    "get",
]


class UnknownComponentError(ValueError, LookupError):
    """Raised when a name is not found in a registry."""


class Registry:
    """A mapping from lowercase names to component classes (or factories).

    Parameters
    ----------
    kind : str
        What the registry holds, used in error messages (``"layer"``).
    group : str
        The entry-point group scanned for third-party components.
    """

    def __init__(self, kind: str, group: str):
        self.kind = kind
        self.group = group
        self._items: dict[str, object] = {}
        self._entry_points_loaded = False
        #: names that came from entry points (found again in any process), and the
        #: errors of entry points that failed to load
        self.from_entry_points: set[str] = set()
        self._broken: dict[str, Exception] = {}
        #: registries whose names share this one's namespace (layers and activations)
        self._shared_with: tuple[Registry, ...] = ()

    @staticmethod
    def _key(name) -> str:
        if not isinstance(name, str) or not name.strip():
            raise TypeError(f"component names are non-empty strings, got {name!r}")
        return name.strip().lower()

    def register(self, name: str, obj=None, *, replace: bool = False):
        """Register ``obj`` under ``name``; usable as a decorator when ``obj`` is omitted.

        A name that is already taken raises ``ValueError`` unless ``replace=True``.
        """
        if obj is None:
            return lambda o: self.register(name, o, replace=replace)
        key = self._key(name)
        for other in self._shared_with:
            if key in other._items:
                raise ValueError(
                    f"{key!r} is already the name of {other.kind} {other._items[key]!r}; layers and activations "
                    "share one namespace (a `layers` entry may be either): choose another name."
                )
        current = self._items.get(key)
        if current is not None and current is not obj and not replace:
            raise ValueError(
                f"A {self.kind} named {key!r} is already registered ({current!r}); pass replace=True to replace it."
            )
        self._items[key] = obj
        return obj

    def unregister(self, name: str):
        """Remove ``name``; return what was registered under it."""
        return self._items.pop(self._key(name))

    def _load_entry_points(self):
        self._entry_points_loaded = True
        for ep in metadata.entry_points(group=self.group):
            key = ep.name.strip().lower()
            if key in self._items:
                continue
            try:
                self._items[key] = ep.load()
            except Exception as exc:  # a broken plugin must not break the others: its own name raises
                exc.add_note(f"while loading entry point {ep.name!r} ({ep.value}) of group {self.group!r}")
                self._broken[key] = exc
                warnings.warn(f"sknn_scratch: the {self.kind} plugin {ep.name!r} ({ep.value}) failed to load: {exc!r}")
                continue
            self.from_entry_points.add(key)

    def get(self, name: str):
        """Return the component registered as ``name`` (case-insensitive)."""
        key = self._key(name)
        if key not in self._items and not self._entry_points_loaded:
            self._load_entry_points()
        try:
            return self._items[key]
        except KeyError:
            if key in self._broken:
                raise self._broken[key] from None
            raise UnknownComponentError(self.unknown_message(key)) from None

    def unknown_message(self, name: str, extra_names=()) -> str:
        """The error text for an unknown ``name``: known names and the closest match."""
        known = sorted(set(self.names()) | set(extra_names))
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return f"Unknown {self.kind} {name!r}.{hint} Known {self.kind} names: {', '.join(known)}."

    def names(self) -> list[str]:
        """All registered names, entry points included, sorted."""
        if not self._entry_points_loaded:
            self._load_entry_points()
        return sorted(self._items)

    def __contains__(self, name) -> bool:
        try:
            self.get(name)
        except (UnknownComponentError, TypeError):
            return False
        return True

    def __iter__(self):
        return iter(self.names())

    def __len__(self):
        return len(self.names())

    def __repr__(self):
        return f"Registry({self.kind!r}, group={self.group!r}, {len(self._items)} items)"


LAYERS = Registry("layer", "sknn_scratch.layers")
ACTIVATIONS = Registry("activation", "sknn_scratch.activations")
CRITERIA = Registry("criterion", "sknn_scratch.criteria")
OPTIMIZERS = Registry("optimizer", "sknn_scratch.optimizers")
SCHEDULES = Registry("schedule", "sknn_scratch.schedules")
REGISTRIES = {r.kind: r for r in (LAYERS, ACTIVATIONS, CRITERIA, OPTIMIZERS, SCHEDULES)}
LAYERS._shared_with, ACTIVATIONS._shared_with = (ACTIVATIONS,), (LAYERS,)


def _registry(kind: str) -> Registry:
    try:
        return REGISTRIES[kind]
    except KeyError:
        raise ValueError(f"Unknown registry kind {kind!r}; choose from {sorted(REGISTRIES)}") from None


def register(kind: str, name: str, obj=None, *, replace: bool = False):
    """Register ``obj`` as a component of ``kind`` ("layer", "activation", "criterion",
    "optimizer", "schedule") named ``name``. Without ``obj`` it returns a class decorator.

    Examples
    --------
    >>> from sknn_scratch import register
    >>> from sknn_scratch.nn import Module
    >>> @register("activation", "square_doc_example")
    ... class Square(Module):
    ...     def updateOutput(self, input):
    ...         self.output = input * input
    ...         return self.output
    ...     def updateGradInput(self, input, gradOutput):
    ...         self.gradInput = 2 * input * gradOutput
    ...         return self.gradInput
    >>> from sknn_scratch.registry import ACTIVATIONS
    >>> ACTIVATIONS.get("square_doc_example") is Square
    True
    >>> _ = ACTIVATIONS.unregister("square_doc_example")
    """
    return _registry(kind).register(name, obj, replace=replace)


def get(kind: str, name: str):
    """Look up a component of ``kind`` by name."""
    return _registry(kind).get(name)
