"""Turn the estimators' constructor parameters into a :class:`~sknn_scratch.nn.Sequential`.

The network is ``[Reshape] + hidden layers + [Flatten] + Linear(n, n_outputs)``, ending
in raw scores (the output activation belongs to the loss, see
:mod:`sknn_scratch.nn.losses`). The hidden layers are MLP's when ``layers`` is None,
built directly; otherwise each spec of ``layers`` is one of

* a registry name: ``"relu"``, ``"flatten"``, ``"batchnorm"``;
* a ``(name, kwargs)`` pair: ``("conv2d", {"out_channels": 16, "kernel_size": 3})``;
* a ``(name, [specs])`` pair for a container layer, built from the inner specs:
  ``("residual", [("linear", {"n_out": 64}), "relu"])``;
* a :class:`~sknn_scratch.nn.Module` instance, deep-copied (the argument is never
  mutated) and re-initialised from the estimator's random state when it has
  ``reset_parameters``.

Sizes follow from the input: each layer's :meth:`~sknn_scratch.nn.Module.infer_args`
gives the constructor arguments that depend on the shape of its input sample (a linear
layer's ``n_in``), its :meth:`~sknn_scratch.nn.Module.output_shape` the shape it passes
on, and a :class:`~sknn_scratch.nn.Flatten` goes before a ``linear`` layer that follows
multi-dimensional output. Constructors that take ``rng``, ``dtype`` or ``init`` get the
estimator's random generator, the data's dtype and Glorot initialisation.

Two changes of the written order make the network faster without changing what it
computes: an activation that never decreases (ReLU, logistic, tanh) just before a
max-pooling runs after it instead, on a quarter of the values for 2x2 windows (the same
maxima, the same gradients), and an activation after a linear, convolution or pooling
layer overwrites that layer's output in place.
"""

from __future__ import annotations

import copy
import inspect
from numbers import Integral

import numpy as np

from ..nn import (
    BatchNormalization,
    ChannelwiseScaling,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Reshape,
    Sequential,
    Sigmoid,
    Tanh,
)
from ..nn.activation import _Elementwise
from ..registry import ACTIVATIONS, LAYERS

__all__ = ["resolve_input_shape", "build_network"]

#: moving-average factor of batch-norm layers built by the estimators (the layer's own
#: default of 0 would keep only the last batch's statistics for inference)
BATCHNORM_ALPHA = 0.9
#: activations that never decrease, so that ``f(max(window)) == max(f(window))``
MONOTONE = (ReLU, Sigmoid, Tanh)


def resolve_input_shape(input_shape, n_features):
    """Resolve ``input_shape`` (one entry may be -1) against ``n_features``.

    Returns the tuple of positive ints, or ``None`` when ``input_shape`` is None.
    """
    if input_shape is None:
        return None
    try:
        shape = tuple(int(s) for s in input_shape)
        if any(s != d for s, d in zip(shape, input_shape, strict=True)):
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"input_shape must be a tuple of ints such as (C, H, W), got {input_shape!r}") from None
    if not shape or any(s == 0 or s < -1 for s in shape) or shape.count(-1) > 1:
        raise ValueError(f"input_shape must hold positive sizes and at most one -1, got {input_shape!r}")
    known = int(np.prod([s for s in shape if s != -1]))
    if -1 in shape:
        if n_features % known:
            raise ValueError(
                f"input_shape {tuple(input_shape)} cannot reshape {n_features} features: {n_features} is not "
                f"a multiple of {known}"
            )
        shape = tuple(n_features // known if s == -1 else s for s in shape)
    elif known != n_features:
        raise ValueError(
            f"input_shape {tuple(input_shape)} expects {known} features per sample, but X has {n_features} features"
        )
    return shape


def build_network(settings, n_features, n_outputs, rng, dtype):
    """The network the estimator's ``settings`` describe, for rows of ``n_features``
    values and ``n_outputs`` outputs, initialised from ``rng`` in ``dtype``."""
    input_shape = None if settings.input_shape is None else resolve_input_shape(settings.input_shape, n_features)
    modules = []
    if settings.layers is None:  # MLP: flat rows, whatever input_shape says
        init = "glorot_uniform_logistic" if settings.activation == "logistic" else "glorot_uniform"
        hidden = mlp_layers(settings, n_features, rng, dtype, init)
        sizes = settings.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        shape = (int(sizes[-1]),) if sizes else (n_features,)
    else:
        init = "glorot_uniform"
        shape = input_shape or (n_features,)
        if len(shape) > 1:
            modules.append(Reshape(shape))
        hidden, shape = build_layers(settings.layers, shape, rng, dtype)
    modules += hidden
    if len(shape) > 1:
        modules.append(Flatten())
    modules.append(Linear(int(np.prod(shape)), n_outputs, init=init, rng=rng, dtype=dtype))
    return Sequential(*_faster_order(modules))


def mlp_layers(settings, n_features, rng, dtype, init):
    """The hidden part of an MLP: ``Linear -> [BatchNorm -> ChannelwiseScaling] -> act
    -> [Dropout]`` per entry of ``hidden_layer_sizes``, Glorot-uniform initialised as
    scikit-learn's MLP does."""
    modules, n_in = [], n_features
    activation = ACTIVATIONS.get(settings.activation)
    sizes = settings.hidden_layer_sizes
    for size in [sizes] if isinstance(sizes, Integral) else [int(s) for s in sizes]:
        modules.append(Linear(n_in, size, init=init, rng=rng, dtype=dtype))
        if settings.batch_norm:
            modules += [BatchNormalization(alpha=BATCHNORM_ALPHA), ChannelwiseScaling(size, dtype=dtype)]
        modules.append(_construct(activation, {}, rng, dtype, init))
        if settings.dropout:
            modules.append(Dropout(settings.dropout, rng=rng))
        n_in = size
    return modules


def build_layers(specs, sample_shape, rng, dtype, where="layers"):
    """Build the modules of the layer specs ``specs`` for samples of ``sample_shape``.

    Returns ``(modules, output sample shape)``. Errors name the offending spec (as
    ``layers[i]``) and the shapes."""
    if isinstance(specs, (str, Module)) or not isinstance(specs, (list, tuple)):
        raise ValueError(f"{where} must be a list of layer specs, got {specs!r}")
    modules, shape = [], tuple(sample_shape)
    for index, spec in enumerate(specs):
        place = f"{where}[{index}]"
        name, kwargs, inner, instance = _parse(spec, place)
        if instance is not None:
            module = copy.deepcopy(instance)
            for leaf in module.leaves():  # a container's modules too
                if hasattr(leaf, "reset_parameters"):
                    leaf.reset_parameters(rng)
            module.astype(dtype)
        else:
            cls = _lookup(name, place)
            if issubclass(cls, Linear) and len(shape) > 1:
                modules.append(Flatten())
                shape = (int(np.prod(shape)),)
            if inner is not None:  # a container of inner specs, built for the same input
                if not issubclass(cls, Sequential):
                    raise ValueError(f"{place} = {spec!r}: {name!r} is not a container layer; give it a kwargs dict")
                module = cls(*build_layers(inner, shape, rng, dtype, place)[0])
            else:
                module = _construct(cls, {**cls.infer_args(shape), **kwargs}, rng, dtype, "glorot_uniform", place)
        try:
            new_shape = tuple(module.output_shape(shape))
        except Exception as exc:
            raise ValueError(f"{place} = {spec!r} cannot take samples of shape {shape}: {exc}") from exc
        modules.append(module)
        shape = new_shape
    return modules, shape


def _parse(spec, place):
    """``(name, kwargs, inner specs, instance)`` of one layer spec."""
    if isinstance(spec, Module):
        return None, {}, None, spec
    if isinstance(spec, str):
        return spec, {}, None, None
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str):
        if isinstance(spec[1], dict):
            return spec[0], dict(spec[1]), None, None
        if isinstance(spec[1], (list, tuple)):
            return spec[0], {}, spec[1], None
    raise ValueError(
        f"{place} = {spec!r} is not a layer spec: use a registry name ('relu'), a (name, kwargs) pair "
        "(('linear', {'n_out': 64})), a (name, [specs]) pair for a container ('residual') or a Module instance"
    )


def _lookup(name, place):
    """Find a layer or an activation class by registry name."""
    if name in LAYERS:
        return LAYERS.get(name)
    if name in ACTIVATIONS:
        return ACTIVATIONS.get(name)
    raise ValueError(f"{place}: " + LAYERS.unknown_message(name.lower(), extra_names=ACTIVATIONS.names()))


def _construct(cls, kwargs, rng, dtype, init, place=None):
    """``cls(**kwargs)``, with the estimator's ``rng``, ``dtype`` and initialiser name
    ``init`` for the constructors that take them (an ``init`` whose default is not an
    initialiser name, such as PReLU's initial slope, is left alone), and MLP's batch-norm
    momentum."""
    try:
        accepted = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        accepted = {}
    for key, value in (("rng", rng), ("dtype", dtype), ("init", init)):
        if key in accepted and (key != "init" or isinstance(accepted[key].default, str)):
            kwargs.setdefault(key, value)
    if issubclass(cls, BatchNormalization):
        kwargs.setdefault("alpha", BATCHNORM_ALPHA)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"{place or cls.__name__}: cannot build {cls.__name__} with {kwargs}: {exc}") from exc


def _faster_order(modules):
    """``modules`` with every monotone activation that precedes a max-pooling moved after
    it, and activations after a linear, convolution or pooling layer made in-place (see
    the module docstring)."""
    modules = list(modules)
    for i in range(len(modules) - 1):
        if type(modules[i]) in MONOTONE and type(modules[i + 1]) is MaxPool2d:
            modules[i], modules[i + 1] = modules[i + 1], modules[i]
    for prev, module in zip(modules, modules[1:], strict=False):
        if type(prev) in (Linear, Conv2d, MaxPool2d) and isinstance(module, _Elementwise):
            module.inplace = True
    return modules
