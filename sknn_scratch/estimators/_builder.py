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

An entry of ``layers`` may use the names people bring from other libraries: ``"dense"``
is ``"linear"`` (a registry alias), and a keyword argument the layer does not take is an
error that names the one it does (``units`` and ``out_features`` are ``n_out``).

The shape of one sample: ``input_shape``, or, for arrays of images, the shape of their
samples (``(n, H, W)`` arrays are images of one channel). The network takes samples
channels first, ``(C, H, W)``; ``channels_last=True`` reads the shape as ``(H, W, C)``
and the estimators reorder the rows' values. With ``channels_last=None`` (the default), a
shape that reads both ways (see :func:`reads_both_ways`) is an error when ``layers``
uses it, rather than a guess.

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
import difflib
import inspect
from math import prod
from numbers import Integral

import numpy as np

from ..nn import (
    BatchNormalization,
    ChannelwiseScaling,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    LogSoftmax,
    MaxPool2d,
    Module,
    ReLU,
    Reshape,
    Sequential,
    Sigmoid,
    SoftMax,
    Tanh,
)
from ..nn.activation import _Elementwise
from ..registry import ACTIVATIONS, LAYERS

__all__ = [
    "resolve_input_shape",
    "given_shape",
    "network_shape",
    "reads_both_ways",
    "image_forms",
    "check_not_one_sample",
    "channels_first_columns",
    "image_sample_shape",
    "build_network",
]

#: moving-average factor of batch-norm layers built by the estimators (the layer's own
#: default of 0 would keep only the last batch's statistics for inference)
BATCHNORM_ALPHA = 0.9
#: activations that never decrease, so that ``f(max(window)) == max(f(window))``
MONOTONE = (ReLU, Sigmoid, Tanh)
#: the most channels a last axis may have and still read as the channels of images (grey,
#: grey and alpha, RGB, RGBA)
IMAGE_CHANNELS = 4
#: keyword arguments of other libraries, and the name the layers here give them
SYNONYMS = {
    "units": "n_out",
    "out_features": "n_out",
    "output_dim": "n_out",
    "in_features": "n_in",
    "input_dim": "n_in",
    "filters": "out_channels",
    "pool_size": "kernel_size",
    "strides": "stride",
    "rate": "p",
    "use_bias": "bias",
    "momentum": "alpha",
}
#: what to know before taking a synonym's suggestion
SYNONYM_NOTES = {
    "momentum": "the weight of the old running statistics, as Keras's momentum; PyTorch's momentum is 1 - alpha",
}


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


def reads_both_ways(shape):
    """Whether a sample shape ``(a, b, c)`` reads as well as ``(H, W, C)`` (height,
    width, channels: Keras's and image files' order) as it does as ``(C, H, W)``: its
    last size is at most :data:`IMAGE_CHANNELS` and below both others, as in
    ``(28, 28, 1)`` or ``(32, 32, 3)``. Read channels first, such a shape is ``a``
    channels of ``b x c`` images."""
    return len(shape) == 3 and shape[2] <= IMAGE_CHANNELS and shape[2] < min(shape[0], shape[1])


def given_shape(settings, n_features=None, image_shape=None):
    """The shape of one sample in the order ``X`` gives it: ``input_shape`` resolved
    against the values of a row (``n_features``, or those of a sample of
    ``image_shape``), or, without ``input_shape``, the ``image_shape`` of an array of
    images, where an ``(H, W)`` sample gets a channel axis of one channel (first, or
    last with ``channels_last=True``). None for flat rows without ``input_shape``."""
    if settings.input_shape is not None:
        return resolve_input_shape(settings.input_shape, n_features if image_shape is None else prod(image_shape))
    if image_shape is None:
        return None
    if len(image_shape) == 2:
        return (*image_shape, 1) if getattr(settings, "channels_last", None) else (1, *image_shape)
    return tuple(image_shape)


def network_shape(settings, shape):
    """The sample ``shape`` (in ``X``'s order) as the network takes it: channels first.

    ``channels_last=True`` moves the last axis to the front, ``(H, W, C) -> (C, H, W)``;
    ``False`` takes the shape as it is. ``None`` (the default) takes it as it is too,
    except that a shape that :func:`reads_both_ways` is a ``ValueError`` when ``layers``
    uses it (an MLP flattens its rows: for it both readings are the same), so that an
    image with its channels last is never trained as another image."""
    if len(shape) < 2:
        return shape
    channels_last = getattr(settings, "channels_last", None)
    if channels_last:
        return (shape[-1], *shape[:-1])
    if channels_last is None and settings.layers is not None and reads_both_ways(shape):
        h, w, c = shape
        source = (
            f"input_shape={tuple(settings.input_shape)}" if settings.input_shape is not None
            else f"X, whose samples have the shape {shape},"
        )  # fmt: skip
        raise ValueError(
            f"{source} reads two ways: as (channels, height, width), {h} channels of {w}x{c} images, or as "
            f"(height, width, channels), {h}x{w} images of {c} channel{'s' if c > 1 else ''}. Say which: "
            f"channels_last=True for the second (X as (n, {h}, {w}, {c}) arrays or flat rows in that order; "
            f"or convert it yourself: input_shape=({c}, {h}, {w}) with np.moveaxis(X, -1, 1)), "
            "channels_last=False for the first."
        )
    return tuple(shape)


def image_forms(shape, channels_last):
    """The sample shapes an array of images may have for samples of ``shape`` (in
    ``X``'s order): ``shape``, and ``shape`` without its channel axis (the first, or the
    last with ``channels_last``) when that has one channel."""
    forms = [tuple(shape)]
    if len(shape) >= 2:
        if channels_last and shape[-1] == 1:
            forms.append(tuple(shape[:-1]))
        elif not channels_last and shape[0] == 1:
            forms.append(tuple(shape[1:]))
    return forms


def check_not_one_sample(X, sample_shape, channels_last, n_features):
    """One image given where an array of images is expected (``X[0]`` for ``X[:1]``)
    would be read as rows or as several smaller images: an error that says so."""
    try:
        whole = tuple(np.shape(X) if isinstance(X, (list, tuple)) else getattr(X, "shape", ()))
    except ValueError:  # a ragged list: scikit-learn's validation reports it
        return
    forms = image_forms(sample_shape, channels_last)
    readable = whole[1:] in forms or (len(whole) == 2 and whole[1] == n_features)
    if whole in forms and not readable:
        raise ValueError(
            f"X has the shape of one sample, {whole}, where an array of samples is expected: give "
            f"X[np.newaxis] (shape {(1, *whole)}), or several samples at once"
        )


def channels_first_columns(shape):
    """The columns, in order, that turn flat rows of samples shaped ``(..., C)`` into flat
    rows of the same samples shaped ``(C, ...)``."""
    return np.moveaxis(np.arange(prod(shape)).reshape(shape), -1, 0).ravel()


def image_sample_shape(est, shape, reset):
    """The shape of one sample, in ``X``'s order, for an array of samples of ``shape``.

    A new fit (``reset``) takes it from ``input_shape``, or without one from ``shape``
    (see :func:`given_shape`); otherwise it is the fitted one. Samples that have neither
    it nor it without a channel axis of one channel (see :func:`image_forms`) are a
    ``ValueError`` naming both shapes, and how to convert images whose channels are on
    the other side."""
    if reset and est.input_shape is None:  # the array gives the shape
        return given_shape(est, image_shape=shape)
    if reset:
        channels_last, whose = bool(est.channels_last), f"input_shape={tuple(est.input_shape)} takes"
        try:
            expected = given_shape(est, image_shape=shape)
        except ValueError:  # input_shape holds another number of values
            expected = tuple(est.input_shape)
    else:
        channels_last, whose = getattr(est, "_channels_last", False), f"this {type(est).__name__} was fitted on"
        expected = getattr(est, "_sample_shape", None)
        if expected is None:
            raise ValueError(
                f"X holds samples of shape {shape}, but this {type(est).__name__} was fitted on flat rows of "
                f"{est.n_features_in_} features: give rows, X.reshape(len(X), -1)"
            )
    forms = image_forms(expected, channels_last)
    if shape not in forms:
        hint = ""
        if len(shape) == len(expected) >= 2 and shape == (*expected[1:], expected[0]) and not channels_last:
            hint = " These look like images with their channels last: give np.moveaxis(X, -1, 1)"
            hint += f", or input_shape={shape} with channels_last=True." if reset else "."
        elif len(shape) == len(expected) >= 2 and shape == (expected[-1], *expected[:-1]) and channels_last:
            hint = " These look like images with their channels first: give np.moveaxis(X, 1, -1)."
        rows = "" if -1 in expected else f" (or flat rows of {int(np.prod(expected))} values)"
        takes = " or ".join(map(str, forms))
        raise ValueError(f"X holds samples of shape {shape}, but {whose} samples of shape {takes}{rows}.{hint}")
    return expected


def build_network(settings, n_features, n_outputs, rng, dtype, sample_shape):
    """The network the estimator's ``settings`` describe, for rows of ``n_features``
    values and ``n_outputs`` outputs, initialised from ``rng`` in ``dtype``.
    ``sample_shape`` is the shape of one sample in ``X``'s order (see
    :func:`given_shape`), None for flat rows.

    MLP's hidden part (``layers`` None) is ``Linear -> [BatchNorm -> ChannelwiseScaling]
    -> activation -> [Dropout]`` per entry of ``hidden_layer_sizes``, Glorot-uniform
    initialised as scikit-learn's MLP does, on flat rows whatever ``input_shape`` says."""
    input_shape = None if sample_shape is None else network_shape(settings, sample_shape)
    modules = []
    if settings.layers is None:
        init = "glorot_uniform_logistic" if settings.activation == "logistic" else "glorot_uniform"
        activation = ACTIVATIONS.get(settings.activation)
        sizes = settings.hidden_layer_sizes
        n_in = n_features
        for size in [sizes] if isinstance(sizes, Integral) else [int(s) for s in sizes]:
            modules.append(Linear(n_in, size, init=init, rng=rng, dtype=dtype))
            if settings.batch_norm:
                modules += [BatchNormalization(alpha=BATCHNORM_ALPHA), ChannelwiseScaling(size, dtype=dtype)]
            modules.append(_construct(activation, {}, rng, dtype, init))
            if settings.dropout:
                modules.append(Dropout(settings.dropout, rng=rng))
            n_in = size
        shape = (n_in,)
    else:
        init = "glorot_uniform"
        shape = input_shape or (n_features,)
        if len(shape) > 1:
            modules.append(Reshape(shape))
        try:
            hidden, shape = build_layers(settings.layers, shape, rng, dtype)
        except _ShapeError as exc:
            if settings.input_shape is None and len(shape) == 3 and shape[0] == 1:  # e.g. (n, C, L) for a Conv1d
                raise ValueError(
                    f"{exc}. An array of samples of shape {shape[1:]} is read as images of one channel, {shape}: for "
                    f"sequences of {shape[1]} channels of length {shape[2]}, give input_shape={shape[1:]}"
                ) from exc
            raise
        _check_hidden_only(settings.layers, hidden)
        modules += hidden
    if len(shape) > 1:
        modules.append(Flatten())
    modules.append(Linear(int(np.prod(shape)), n_outputs, init=init, rng=rng, dtype=dtype))
    return Sequential(*_faster_order(modules))


class _ShapeError(ValueError):
    """A layer that cannot take the samples it is given."""


def _check_hidden_only(specs, modules):
    """``layers`` is the hidden part: the estimator adds the output layer and applies the
    output activation itself, so a ``layers`` ending in a softmax (a Keras model's output
    layer written out) would put a second head after the first, which trains badly and
    silently. A module instance is taken as meant."""
    if modules and type(modules[-1]) in (SoftMax, LogSoftmax) and not isinstance(specs[-1], Module):
        name = specs[-1] if isinstance(specs[-1], str) else specs[-1][0]
        raise ValueError(
            f"layers ends in {name!r}, but layers holds the hidden layers only: the estimator adds the output layer "
            "(a linear layer to one score per class or target) and its output activation itself, as MLP does "
            f"(out_activation_). Drop the final {name!r}, and a last linear layer written as the output layer; a "
            "softmax meant as a hidden layer goes in as an instance, sknn_scratch.nn.SoftMax()"
        )


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
                module = _construct(cls, kwargs, rng, dtype, "glorot_uniform", place, cls.infer_args(shape))
        try:
            new_shape = tuple(module.output_shape(shape))
        except Exception as exc:
            raise _ShapeError(f"{place} = {spec!r} cannot take samples of shape {shape}: {exc}") from exc
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


def _construct(cls, kwargs, rng, dtype, init, place=None, inferred=None):
    """``cls(**inferred, **kwargs)``, with the estimator's ``rng``, ``dtype`` and
    initialiser name ``init`` for the constructors that take them (an ``init`` whose
    default is not an initialiser name, such as PReLU's initial slope, is left alone),
    and MLP's batch-norm momentum. ``kwargs`` are the user's arguments, ``inferred``
    those that follow from the input (:meth:`~sknn_scratch.nn.Module.infer_args`);
    errors show the user's only."""
    try:
        accepted = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        accepted = {}
    if accepted and not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        unknown = [key for key in kwargs if key not in accepted]
        if unknown:
            raise ValueError(_unknown_arguments(cls, unknown, accepted, inferred or {}, place))
    given, kwargs = kwargs, {**(inferred or {}), **kwargs}
    for key, value in (("rng", rng), ("dtype", dtype), ("init", init)):
        if key in accepted and (key != "init" or isinstance(accepted[key].default, str)):
            kwargs.setdefault(key, value)
    if issubclass(cls, BatchNormalization):
        kwargs.setdefault("alpha", BATCHNORM_ALPHA)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # the layer's own check of its arguments, named by its place
        raise ValueError(f"{place or cls.__name__}: cannot build {cls.__name__} with {given}: {exc}") from exc


def _unknown_arguments(cls, unknown, accepted, inferred, place):
    """The error for keyword arguments ``cls`` does not take: each with the argument it
    probably means (a known synonym, or the closest name), and the arguments it takes,
    without those the builder fills in (``rng``, ``dtype``)."""
    own = [name for name in accepted if name not in ("rng", "dtype")]
    hints = []
    for key in unknown:
        guess = SYNONYMS.get(key) if SYNONYMS.get(key) in own else None
        guess = guess or next(iter(difflib.get_close_matches(key, own, n=1, cutoff=0.6)), None)
        note = f", {SYNONYM_NOTES[key]}" if guess and key in SYNONYM_NOTES else ""
        hints.append(f"{key!r} (did you mean {guess!r}?{note})" if guess else repr(key))
    takes = ", ".join(f"{name} (inferred from the input)" if name in inferred else name for name in own)
    where = f"{place}: " if place else ""
    return f"{where}{cls.__name__} has no argument {', '.join(hints)}; it takes {takes}"


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
