"""Turn the estimators' constructor parameters into a :class:`~sknn_scratch.nn.Sequential`.

A layer spec is one of

* a registry name: ``"relu"``, ``"flatten"``, ``"batchnorm"``;
* a ``(name, kwargs)`` pair: ``("conv2d", {"out_channels": 16, "kernel_size": 3})``;
* a :class:`~sknn_scratch.nn.Module` instance, deep-copied (the argument is never
  mutated) and re-initialised from the estimator's random state when it has
  ``reset_parameters``.

Input sizes are inferred: arguments named ``n_in`` (features of a 2-D input) and
``in_channels`` (the first axis of a sample) are filled in, a class may also define
``infer_args(sample_shape) -> dict``, and a :class:`Flatten` is inserted before a
``linear`` layer that follows multi-dimensional output.
"""

from __future__ import annotations

import copy
import inspect
from numbers import Integral

import numpy as np

from ..nn import BatchNormalization, Conv2d, Flatten, Linear, MaxPool2d, Module, Reshape, Sequential
from ..nn.activation import _Elementwise
from ..registry import ACTIVATIONS, LAYERS

__all__ = ["resolve_input_shape", "build_hidden", "dense_hidden", "build_network", "sample_shape_after"]

#: moving-average factor of batch-norm layers built by the estimators (the notebook's
#: default of 0 would keep only the last batch's statistics for inference)
BATCHNORM_ALPHA = 0.9


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


def _lookup(name):
    """Find a layer or an activation class by registry name."""
    if name in LAYERS:
        return LAYERS.get(name)
    if name in ACTIVATIONS:
        return ACTIVATIONS.get(name)
    raise ValueError(LAYERS.unknown_message(name.lower(), extra_names=ACTIVATIONS.names()))


def _normalise_spec(spec, index):
    """(name-or-None, kwargs, instance-or-None) of one layer spec."""
    if isinstance(spec, Module):
        return None, {}, spec
    if isinstance(spec, str):
        return spec, {}, None
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str) and isinstance(spec[1], dict):
        return spec[0], dict(spec[1]), None
    raise ValueError(
        f"layers[{index}] = {spec!r} is not a layer spec: use a registry name ('relu'), a (name, kwargs) pair "
        "(('linear', {'n_out': 64})) or a Module instance"
    )


def _infer_kwargs(cls, kwargs, sample_shape):
    """Fill in input-size arguments of ``cls`` from the current sample shape."""
    kwargs = dict(kwargs)
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        params = {}
    if hasattr(cls, "infer_args"):
        for key, value in cls.infer_args(sample_shape).items():
            kwargs.setdefault(key, value)
    if "n_in" in params and "n_in" not in kwargs:
        kwargs["n_in"] = int(np.prod(sample_shape))
    if "in_channels" in params and "in_channels" not in kwargs:
        kwargs["in_channels"] = sample_shape[0]
    return kwargs, params


def sample_shape_after(module, sample_shape, dtype):
    """Shape of one sample after ``module``, found by an evaluation-mode forward pass
    of a two-sample zero batch (the module is left in training mode)."""
    module.evaluate()
    try:
        out = module.forward(np.zeros((2, *sample_shape), dtype=dtype))
    finally:
        module.train()
        module.output = None
        module.gradInput = None
    return out.shape[1:]


def _instantiate(cls, name, kwargs, sample_shape, rng, dtype, default_init, index):
    kwargs, params = _infer_kwargs(cls, kwargs, sample_shape)
    if "rng" in params:
        kwargs.setdefault("rng", rng)
    if "dtype" in params:
        kwargs.setdefault("dtype", dtype)
    if "init" in params and default_init is not None:
        kwargs.setdefault("init", default_init)
    if issubclass(cls, BatchNormalization):
        kwargs.setdefault("alpha", BATCHNORM_ALPHA)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"layers[{index}] ({name!r}): cannot build {cls.__name__} with {kwargs}: {exc}") from exc


def build_hidden(layers, sample_shape, rng, dtype, default_init="glorot_uniform"):
    """Build the hidden modules of ``layers`` for samples of ``sample_shape``.

    Returns ``(modules, out_shape)``. Errors name the offending spec and the shapes.
    """
    if isinstance(layers, (str, Module)) or not isinstance(layers, (list, tuple)):
        raise ValueError(f"layers must be a list of layer specs, got {layers!r}")
    modules = []
    shape = tuple(sample_shape)
    for index, spec in enumerate(layers):
        name, kwargs, instance = _normalise_spec(spec, index)
        if instance is not None:
            module = copy.deepcopy(instance)
            for leaf in module.leaves():  # a container's modules too
                if hasattr(leaf, "reset_parameters"):
                    leaf.reset_parameters(rng)
            module.astype(dtype)
        else:
            cls = _lookup(name)
            if issubclass(cls, Linear) and len(shape) > 1:
                flat = Flatten()
                modules.append(flat)
                shape = (int(np.prod(shape)),)
            module = _instantiate(cls, name, kwargs, shape, rng, dtype, default_init, index)
        try:
            new_shape = sample_shape_after(module, shape, dtype)
        except Exception as exc:
            raise ValueError(f"layers[{index}] = {spec!r} cannot take samples of shape {shape}: {exc}") from exc
        modules.append(module)
        shape = tuple(new_shape)
    return modules, shape


def dense_hidden(hidden_layer_sizes, activation, n_features, rng, dtype, dropout=0.0, batch_norm=False):
    """The hidden part of an MLP: ``Linear -> [BatchNorm -> ChannelwiseScaling] -> act
    -> [Dropout]`` per entry of ``hidden_layer_sizes``, Glorot-uniform initialised as
    scikit-learn's MLP does."""
    sizes = hidden_layer_sizes
    if isinstance(sizes, Integral):
        sizes = [sizes]
    sizes = [int(s) for s in sizes]
    if any(s <= 0 for s in sizes):
        raise ValueError(f"hidden_layer_sizes must be > 0, got {list(hidden_layer_sizes)}.")
    init = "glorot_uniform_logistic" if activation == "logistic" else "glorot_uniform"
    specs = []
    for size in sizes:
        specs.append(("linear", {"n_out": size, "init": init}))
        if batch_norm:
            specs += ["batchnorm", "channelwise_scaling"]
        specs.append(activation)
        if dropout:
            specs.append(("dropout", {"p": dropout}))
    return build_hidden(specs, (n_features,), rng, dtype)


def _use_inplace_activations(modules):
    """Let an element-wise activation overwrite the output of a preceding Linear,
    Conv2d or MaxPool2d layer (shown as ``inplace=True``): their backward passes never
    read their own output, and the output is a new array each pass."""
    for prev, module in zip(modules, modules[1:], strict=False):
        if type(prev) in (Linear, Conv2d, MaxPool2d) and isinstance(module, _Elementwise):
            module.inplace = True


def build_network(hidden, out_shape, n_outputs, rng, dtype, input_shape=None, init="glorot_uniform"):
    """Assemble ``[Reshape] + hidden + [Flatten] + Linear(n, n_outputs)``."""
    modules = []
    if input_shape is not None:
        modules.append(Reshape(input_shape))
    modules.extend(hidden)
    if len(out_shape) > 1:
        modules.append(Flatten())
    modules.append(Linear(int(np.prod(out_shape)), n_outputs, init=init, rng=rng, dtype=dtype))
    _use_inplace_activations(modules)
    return Sequential(*modules)
