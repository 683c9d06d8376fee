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

A registry may also know other names for its components, the ones users bring from
other libraries: :attr:`Registry.aliases` maps each to the name it stands for (the layer
``"dense"`` is ``"linear"``, Keras's name). An alias is looked up as its target is and is
taken as a built-in name: registering it, or an entry point named so, replaces nothing.

Entry points are read lazily, the first time a name is not found (or when
:meth:`Registry.names` is asked for the complete list), once per process; threads
that ask meanwhile wait for the reading to finish. An entry point never replaces a
name that is already registered (built-ins first): it is ignored with a warning. A
name that two plugins give to different objects is an error when it is asked for, and
a plugin that fails to import is an error for its own names only.
"""

from __future__ import annotations

import difflib
import threading
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


#: held while a registry reads its entry points (one lock for all registries, so that a
#: plugin whose import reads another registry's entry points cannot deadlock two threads);
#: re-entrant, as a plugin's import may look names up. A register() call does not take it.
_LOADING = threading.RLock()
#: the warnings about entry points already given (each is given once per process)
_WARNED: set[str] = set()


def _warn_once(message: str):
    if message not in _WARNED:
        _WARNED.add(message)
        warnings.warn(message, UserWarning, stacklevel=2)


def _describe(ep) -> str:
    """An entry point as a user recognises it: its value and its distribution."""
    dist = getattr(ep, "dist", None)
    return f"{ep.value}, from {dist.name} {dist.version}" if dist is not None else ep.value


class Registry:
    """A mapping from lowercase names to component classes.

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
        self._loading = False
        #: guards changes of ``_items``; never held while a plugin imports
        self._lock = threading.Lock()
        #: names that came from entry points (found again in any process), the errors
        #: of entry points that failed to load, and names that plugins disagree on
        self.from_entry_points: set[str] = set()
        self._broken: dict[str, Exception] = {}
        self._ambiguous: dict[str, str] = {}
        #: registries whose names share this one's namespace (layers and activations)
        self._shared_with: tuple[Registry, ...] = ()
        #: other names of registered components: alias -> the name it stands for
        self.aliases: dict[str, str] = {}
        #: the class every component subclasses (``Module``, ``Criterion``, ...), set where
        #: that class is defined; None accepts anything
        self.base: type | None = None

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
        self._check(key, obj)
        with self._lock:
            for registry in (self, *self._shared_with):
                if key in registry.aliases and not (replace and registry is self):
                    raise ValueError(
                        f"{key!r} is another name of the {registry.kind} {registry.aliases[key]!r}; choose another "
                        "name (or pass replace=True to take the name from the alias)."
                    )
            self.aliases.pop(key, None)
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

    def _check(self, key, obj):
        """Refuse ``obj`` unless it is a subclass of :attr:`base`: anything else would only
        fail later, deep inside a fit that names it."""
        if self.base is not None and not (isinstance(obj, type) and issubclass(obj, self.base)):
            raise TypeError(
                f"A {self.kind} is a subclass of {self.base.__module__}.{self.base.__qualname__}; {key!r} would "
                f"be registered as {obj!r}"
            )

    def unregister(self, name: str):
        """Remove ``name``; return what was registered under it."""
        with self._lock:
            return self._items.pop(self._key(name))

    def _holder(self, key):
        """``(registry, object)`` registered as ``key`` (or as the name the alias ``key``
        stands for) here or in a registry sharing the namespace, or None."""
        for registry in (self, *self._shared_with):
            if key in registry._items:
                return registry, registry._items[key]
            if registry.aliases.get(key) in registry._items:
                return registry, registry._items[registry.aliases[key]]
        return None

    def _ensure_entry_points(self):
        """Read the entry points, once. A thread that asks while another reads them waits
        for the result; a plugin's import that looks names up (in the reading thread)
        sees the names known so far."""
        if self._entry_points_loaded:
            return
        with _LOADING:
            if self._entry_points_loaded or self._loading:
                return
            self._loading = True
            try:
                self._load_entry_points()
            finally:
                self._loading = False
            self._entry_points_loaded = True  # only now: whoever finds it set finds every plugin

    def _load_entry_points(self):
        # the entry points of this group and of the groups sharing its namespace, by name
        offers: dict[str, list] = {}
        for registry in (self, *self._shared_with):
            for ep in metadata.entry_points(group=registry.group):
                offers.setdefault(ep.name.strip().lower(), []).append((registry, ep))
        for key, found in offers.items():
            mine = [ep for registry, ep in found if registry is self]
            if not mine:
                continue
            ep = mine[0]
            holder = self._holder(key)
            if holder is not None:
                registry, current = holder
                if key not in registry.from_entry_points:  # built-ins and register() calls win
                    self._ignore(ep, key, registry, current)
                continue
            if len({other.value for _, other in found}) > 1:
                names = ", ".join(sorted(f"{other.group}: {other.name} = {_describe(other)}" for _, other in found))
                self._ambiguous[key] = (
                    f"Plugins disagree on the {self.kind} name {key!r} ({names}): uninstall one of them, or "
                    f"choose with sknn_scratch.register({self.kind!r}, {key!r}, cls)."
                )
                _warn_once(f"sknn_scratch: {self._ambiguous[key]}")
                continue
            try:
                obj = ep.load()
                self._check(key, obj)
            except Exception as exc:  # a broken plugin must not break the others: its own name raises
                exc.add_note(f"while loading entry point {ep.name!r} ({ep.value}) of group {self.group!r}")
                self._broken[key] = exc
                plugin = f"the {self.kind} plugin {ep.name!r} ({_describe(ep)})"
                _warn_once(f"sknn_scratch: {plugin} failed to load: {exc!r}. Only its own names raise the error.")
                continue
            with self._lock:
                holder = self._holder(key)  # the plugin's import may have registered names itself
                if holder is None or holder[1] is obj:
                    self._items[key] = obj
                    self.from_entry_points.add(key)
            if holder is not None and holder[1] is not obj:
                self._ignore(ep, key, *holder)

    def _ignore(self, ep, key, registry, current):
        """Warn (once) that the entry point ``ep`` lost the name ``key`` to ``current``."""
        where = getattr(current, "__module__", "") or ""
        what = "built-in" if where.startswith("sknn_scratch.") else "registered"
        name = f"{where}.{getattr(current, '__qualname__', current)}" if where else repr(current)
        _warn_once(
            f"sknn_scratch: the {self.kind} plugin {ep.name!r} ({_describe(ep)}) is ignored: {key!r} is the "
            f"{what} {registry.kind} {name}, which an entry point never replaces."
        )

    def get(self, name: str):
        """Return the component registered as ``name`` (case-insensitive; an alias gives
        its target's)."""
        key = self._key(name)
        if key not in self._items and key in self.aliases:
            key = self.aliases[key]
        if key not in self._items:
            self._ensure_entry_points()
        try:
            return self._items[key]
        except KeyError:
            if key in self._ambiguous:
                raise ValueError(self._ambiguous[key]) from None
            if key in self._broken:
                raise self._broken[key] from None
            raise UnknownComponentError(self.unknown_message(key)) from None

    def unknown_message(self, name: str, extra_names=()) -> str:
        """The error text for an unknown ``name``: known names and the closest match."""
        known = sorted(set(self.names()) | set(self.aliases) | set(extra_names))
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return f"Unknown {self.kind} {name!r}.{hint} Known {self.kind} names: {', '.join(known)}."

    def names(self) -> list[str]:
        """All registered names, entry points included, sorted (aliases are in
        :attr:`aliases`)."""
        self._ensure_entry_points()
        return sorted(self._items)

    def __contains__(self, name) -> bool:
        if not isinstance(name, str) or not name.strip():
            return False
        try:
            self.get(name)  # a name whose plugin failed to load is there, and raises its error
        except UnknownComponentError:
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
LAYERS.aliases["dense"] = "linear"  # Keras's name


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
