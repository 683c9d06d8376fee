"""Export fitted estimators to ONNX through skl2onnx (``pip install skl2onnx onnxruntime``).

Importing this module registers a shape calculator and a converter for
:class:`~sknn_scratch.NumpyNetClassifier` and :class:`~sknn_scratch.NumpyNetRegressor`
with skl2onnx, so ``skl2onnx.to_onnx`` (and pipelines holding them) convert them as
they convert ``MLPClassifier``. :func:`to_onnx` does both in one call. Every built-in
layer converts (linear, conv1d and conv2d with their options, embedding, max- and
average-pooling, batch-norm, layer-norm, channel-wise scaling, dropout as identity,
flatten and reshape, residual blocks, numeric embeddings of every kind, feature scales,
parametric activations, every activation and output head); a plugin layer
without a converter is an error that names it. Layer normalisation needs opset 17 or
later (skl2onnx's default is later).

Examples
--------
>>> from sklearn.datasets import load_iris
>>> from sknn_scratch import NumpyNetClassifier
>>> from sknn_scratch.onnx import to_onnx
>>> X, y = load_iris(return_X_y=True)
>>> clf = NumpyNetClassifier(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0).fit(X, y)
>>> model = to_onnx(clf, X[:1].astype("float32"))
>>> import onnxruntime
>>> session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
>>> labels, proba = session.run(None, {"X": X[:2].astype("float32")})
>>> proba.shape
(2, 3)
"""

from __future__ import annotations

import numpy as np

from .estimators import NumpyNetClassifier, NumpyNetRegressor
from .nn import (
    ELU,
    GELU,
    SELU,
    AvgPool1d,
    AvgPool2d,
    BatchNormalization,
    ChannelwiseScaling,
    Conv1d,
    Conv2d,
    Dropout,
    Embedding,
    Exp,
    FeatureScale,
    Flatten,
    GlobalAvgPool2d,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool1d,
    MaxPool2d,
    Mish,
    NumericEmbedding,
    ParametricActivation,
    PReLU,
    ReLU,
    Reshape,
    Residual,
    Sigmoid,
    SiLU,
    SoftMax,
    Softplus,
    Tanh,
)

__all__ = ["to_onnx", "register_converters"]

#: element-wise activations and output activations, by ONNX operator
_ACTIVATIONS = {ReLU: "Relu", Sigmoid: "Sigmoid", Tanh: "Tanh", Identity: "Identity", Exp: "Exp", Dropout: "Identity"}
_OUT_ACTIVATIONS = {"identity": "Identity", "exp": "Exp", "logistic": "Sigmoid", "softmax": "Softmax"}


def _skl2onnx():
    try:
        import skl2onnx
    except ImportError as exc:
        raise ImportError("ONNX export requires skl2onnx: pip install skl2onnx onnxruntime") from exc
    return skl2onnx


class _Graph:
    """Adds nodes and constants of one dtype to skl2onnx's container."""

    def __init__(self, scope, container, proto_dtype, np_dtype):
        self.scope, self.container = scope, container
        self.proto_dtype, self.np_dtype = proto_dtype, np_dtype

    def constant(self, name, value, dtype=None):
        value = np.asarray(value, dtype=dtype or self.np_dtype)
        unique = self.scope.get_unique_variable_name(name)
        proto = self.proto_dtype if dtype is None else _proto(dtype)
        self.container.add_initializer(unique, proto, list(value.shape), value.ravel().tolist())
        return unique

    def node(self, op_type, inputs, output=None, op_domain="", **attrs):
        output = output or self.scope.get_unique_variable_name(op_type.lower())
        name = self.scope.get_unique_operator_name(op_type)
        kwargs = {"op_domain": op_domain} if op_domain else {}
        self.container.add_node(op_type, inputs, output, name=name, **kwargs, **attrs)
        return output


def _proto(dtype):
    from skl2onnx.proto import onnx_proto

    return {
        np.dtype(np.float32): onnx_proto.TensorProto.FLOAT,
        np.dtype(np.float64): onnx_proto.TensorProto.DOUBLE,
        np.dtype(np.int64): onnx_proto.TensorProto.INT64,
    }[np.dtype(dtype)]


def _channel(graph, value, ndim):
    """A per-channel vector shaped to broadcast over ``(N, C, ...)`` of ``ndim`` axes."""
    return graph.constant("channel", np.asarray(value).reshape((1, -1) + (1,) * (ndim - 2)))


def _mul(graph, x, factor):
    return graph.node("Mul", [x, graph.constant("factor", factor)])


def _add(graph, x, term):
    return graph.node("Add", [x, graph.constant("term", term)])


def _linear_units(graph, x, positive, negative):
    """``positive * max(x, 0) + negative(min(x, 0))``: the piecewise activations."""
    zero = graph.constant("zero", 0.0)
    return graph.node(
        "Add", [_mul(graph, graph.node("Max", [x, zero]), positive), negative(graph.node("Min", [x, zero]))]
    )


def _softplus(graph, x, cap):
    """``log(1 + exp(min(x, cap)))`` (onnxruntime has no float64 Softplus)."""
    exp = graph.node("Exp", [graph.node("Min", [x, graph.constant("cap", cap)])])
    return graph.node("Log", [_add(graph, exp, 1.0)])


def _activation(graph, module, x, in_shape):
    """The activations of :mod:`sknn_scratch.nn.modern_activation` and
    :mod:`sknn_scratch.nn.linear_units` beyond ONNX's own, from basic operators that
    onnxruntime runs in float32 and float64."""
    if isinstance(module, GELU) and module.approximate == "tanh":  # x (1 + tanh(u)) / 2
        cube = graph.node("Mul", [x, graph.node("Mul", [x, x])])
        u = _mul(graph, graph.node("Add", [x, _mul(graph, cube, 0.044715)]), (2 / np.pi) ** 0.5)
        return graph.node("Mul", [x, _mul(graph, _add(graph, graph.node("Tanh", [u]), 1.0), 0.5)])
    if isinstance(module, GELU):  # x (1 + erf(x / sqrt(2))) / 2
        z = _mul(graph, x, 0.5**0.5)
        if graph.np_dtype == np.float64:  # onnxruntime's Erf is float32 only
            erf = graph.node("Erf", [graph.node("Cast", [z], to=_proto(np.float32))])
            erf = graph.node("Cast", [erf], to=graph.proto_dtype)
        else:
            erf = graph.node("Erf", [z])
        return graph.node("Mul", [x, _mul(graph, _add(graph, erf, 1.0), 0.5)])
    if isinstance(module, SiLU):
        return graph.node("Mul", [x, graph.node("Sigmoid", [x])])
    if isinstance(module, Mish):  # tanh(softplus(x)) is 1 beyond x = 20
        return graph.node("Mul", [x, graph.node("Tanh", [_softplus(graph, x, 20.0)])])
    if isinstance(module, Softplus):  # log(1 + exp(beta x)) / beta, and x where beta x > threshold
        scaled = _mul(graph, x, module.beta)
        smooth = _mul(graph, _softplus(graph, scaled, module.threshold), 1 / module.beta)
        linear = graph.node("Greater", [scaled, graph.constant("threshold", module.threshold)])
        return graph.node("Where", [linear, x, smooth])
    if isinstance(module, (ELU, SELU)):  # scale (max(x, 0) + alpha (exp(min(x, 0)) - 1))
        alpha, scale = (module.alpha, 1.0) if isinstance(module, ELU) else (module.ALPHA, module.SCALE)
        return _linear_units(
            graph, x, scale, lambda m: _mul(graph, _add(graph, graph.node("Exp", [m]), -1.0), alpha * scale)
        )
    if isinstance(module, LeakyReLU):
        return _linear_units(graph, x, 1.0, lambda m: _mul(graph, m, module.negative_slope))
    # PReLU: one slope, or one per entry of axis 1 (shaped (C, 1, ...) to broadcast from the right)
    slope = module.slope if module.n_parameters == 1 else module.slope.reshape((-1,) + (1,) * (len(in_shape) - 1))
    return _linear_units(graph, x, 1.0, lambda m: graph.node("Mul", [m, graph.constant("slope", slope)]))


def _layer_norm(graph, module, x):
    if graph.container.target_opset < 17:
        raise NotImplementedError(
            f"the layer {module!r} converts to ONNX's LayerNormalization, which needs target_opset >= 17 "
            f"(got {graph.container.target_opset})"
        )
    F = module.n_features
    gamma = module.gamma if module.affine else np.ones(F)
    beta = module.beta if module.affine else np.zeros(F)
    inputs = [x, graph.constant("gamma", gamma), graph.constant("beta", beta)]
    return graph.node("LayerNormalization", inputs, axis=-1, epsilon=module.eps)


def _numeric_embedding(graph, module, x):
    """The embedding of each column (see :class:`~sknn_scratch.nn.NumericEmbedding`) on
    ``(N, F, k)`` tensors; the per-column linear maps are one MatMul with the columns as
    its batch axis."""
    F = module.n_features
    column = graph.node("Reshape", [x, graph.constant("shape", [-1, F, 1], dtype=np.int64)])
    if module.kind == "piecewise_linear":  # clip(x slopes + offsets, lower, upper), bounds per bin
        z = _add(graph, _mul(graph, column, module.slopes), module.offsets)
        h = graph.node("Max", [z, graph.constant("lower", module.lower)])
        h = graph.node("Min", [h, graph.constant("upper", module.upper)])
    else:
        z = _mul(graph, column, 2 * np.pi * module.frequencies)
        if module.kind == "pbld":
            h = graph.node("Cos", [_add(graph, z, module.phases)])
        else:
            h = graph.node("Concat", [graph.node("Cos", [z]), graph.node("Sin", [z])], axis=2)
    if module.W is not None:  # (F, N, k) @ (F, k, m), back to (N, F, m)
        product = graph.node("MatMul", [graph.node("Transpose", [h], perm=[1, 0, 2]), graph.constant("W", module.W)])
        h = _add(graph, graph.node("Transpose", [product], perm=[1, 0, 2]), module.b)
    if module.kind == "periodic":
        h = graph.node("Relu", [h])
    elif module.kind == "pbld":  # the raw value after each column's learned values
        h = graph.node("Concat", [h, column], axis=2)
    return graph.node("Reshape", [h, graph.constant("shape", [-1, F * module.embedding_dim], dtype=np.int64)])


def _sequence(graph, modules, x, shape, dtype):
    """The nodes of modules applied one after another to samples of ``shape``; returns
    the output's name and shape. The shapes come from a forward pass of a zero batch
    (the modules are inference copies)."""
    probe = np.zeros((2, *shape), dtype=dtype)
    for module in modules:
        probe = module.forward(probe)
        x = _layer(graph, module, x, shape, probe.shape[1:])
        shape = probe.shape[1:]
    return x, shape


def _layer(graph, module, x, in_shape, out_shape):
    """The ONNX nodes of one module: input name ``x`` (samples of ``in_shape``) to the
    output's name."""
    if type(module) in _ACTIVATIONS:
        return graph.node(_ACTIVATIONS[type(module)], [x])
    if isinstance(module, (GELU, SiLU, Mish, Softplus, ELU, SELU, LeakyReLU, PReLU)):
        return _activation(graph, module, x, in_shape)
    if isinstance(module, LayerNorm):
        return _layer_norm(graph, module, x)
    if isinstance(module, NumericEmbedding):
        return _numeric_embedding(graph, module, x)
    if isinstance(module, FeatureScale):
        return _mul(graph, x, module.scale)
    if isinstance(module, ParametricActivation):  # x + w (f(x) - x), w per entry of axis 1 or one
        fx = _layer(graph, module.activation, x, in_shape, in_shape)
        w = module.weight if module.n_features is None else module.weight.reshape((-1,) + (1,) * (len(in_shape) - 1))
        return graph.node("Add", [x, graph.node("Mul", [graph.node("Sub", [fx, x]), graph.constant("weight", w)])])
    if isinstance(module, Embedding):
        codes = graph.node("Cast", [x], to=_proto(np.int64))
        return graph.node("Gather", [graph.constant("W", module.W), codes], axis=0)
    if isinstance(module, Conv1d):
        k, s, p = module.kernel_size, module.stride, module._pad
        inputs = [x, graph.constant("W", module.W), graph.constant("b", module.b)]
        return graph.node("Conv", inputs, kernel_shape=[k], strides=[s], pads=[p, p])
    if isinstance(module, (AvgPool1d, AvgPool2d, MaxPool1d)):
        axes = 1 if isinstance(module, (AvgPool1d, MaxPool1d)) else 2
        op = "MaxPool" if isinstance(module, MaxPool1d) else "AveragePool"
        return graph.node(op, [x], kernel_shape=[module.kernel_size] * axes, strides=[module.stride] * axes)
    if isinstance(module, GlobalAvgPool2d):
        return graph.node("Flatten", [graph.node("GlobalAveragePool", [x])], axis=1)
    if isinstance(module, Residual):  # x + chain(x)
        inner, _ = _sequence(graph, module.modules, x, in_shape, module.dtype or graph.np_dtype)
        return graph.node("Add", [x, inner])
    if isinstance(module, Linear):
        return graph.node(
            "Add", [graph.node("MatMul", [x, graph.constant("W", module.W.T)]), graph.constant("b", module.b)]
        )
    if isinstance(module, Conv2d):
        k, s, p = module.kernel_size, module.stride, module._pad
        inputs = [x, graph.constant("W", module.W), graph.constant("b", module.b)]
        return graph.node("Conv", inputs, kernel_shape=[k, k], strides=[s, s], pads=[p, p, p, p])
    if isinstance(module, MaxPool2d):
        k, s, p = module.kernel_size, module.stride, module.padding
        return graph.node("MaxPool", [x], kernel_shape=[k, k], strides=[s, s], pads=[p, p, p, p])
    if isinstance(module, BatchNormalization):  # evaluation: the moving statistics
        channels = in_shape[0]
        mean = module.moving_mean if module.moving_mean is not None else np.zeros(channels)
        var = module.moving_variance if module.moving_variance is not None else np.ones(channels)
        scale = 1 / np.sqrt(np.asarray(var, dtype=np.float64) + module.EPS)
        centred = graph.node("Sub", [x, _channel(graph, mean, len(in_shape) + 1)])
        normalised = graph.node("Mul", [centred, _channel(graph, scale, len(in_shape) + 1)])
        if not module.affine:
            return normalised
        scaled = graph.node("Mul", [normalised, _channel(graph, module.gamma, len(in_shape) + 1)])
        return graph.node("Add", [scaled, _channel(graph, module.beta, len(in_shape) + 1)])
    if isinstance(module, ChannelwiseScaling):
        ndim = len(in_shape) + 1
        scaled = graph.node("Mul", [x, _channel(graph, module.gamma, ndim)])
        return graph.node("Add", [scaled, _channel(graph, module.beta, ndim)])
    if isinstance(module, (Flatten, Reshape)):
        return graph.node("Reshape", [x, graph.constant("shape", [-1, *out_shape], dtype=np.int64)])
    if isinstance(module, (SoftMax, LogSoftmax)):
        return graph.node("Softmax" if isinstance(module, SoftMax) else "LogSoftmax", [x], axis=1)
    raise NotImplementedError(
        f"no ONNX converter for the layer {module!r} ({type(module).__module__}.{type(module).__qualname__})"
    )


def _scores(graph, est, x):
    """The network's raw scores, layer by layer."""
    net = est.network_
    return _sequence(graph, net.inference_copy().modules, x, (est.n_features_in_,), net.dtype)[0]


def _graph(scope, operator, container):
    from skl2onnx.common.data_types import guess_proto_type
    from skl2onnx.proto import onnx_proto

    proto = guess_proto_type(operator.inputs[0].type)
    np_dtype = np.float64 if proto == onnx_proto.TensorProto.DOUBLE else np.float32
    graph = _Graph(scope, container, _proto(np_dtype), np_dtype)
    x = graph.node("Cast", [operator.inputs[0].full_name], to=graph.proto_dtype)
    return graph, _scores(graph, operator.raw_operator, x)


def _convert_classifier(scope, operator, container):
    est = operator.raw_operator
    graph, z = _graph(scope, operator, container)
    label, proba = operator.outputs[0].full_name, operator.outputs[1].full_name
    p = graph.node(
        _OUT_ACTIVATIONS[est.out_activation_], [z], **({"axis": 1} if est.out_activation_ == "softmax" else {})
    )
    if est._label_binarizer.y_type_ == "multilabel-indicator":
        graph.node("Identity", [p], proba)
        graph.node(
            "Cast", [graph.node("Binarizer", [p], op_domain="ai.onnx.ml", threshold=0.5)], label, to=_proto(np.int64)
        )
        return
    if est.n_outputs_ == 1:  # binary: the probability of the second class
        p = graph.node("Concat", [graph.node("Sub", [graph.constant("one", 1.0), p]), p], axis=1)
    graph.node("Identity", [p], proba)
    index = graph.node("ArgMax", [p], axis=1, keepdims=0)
    classes = est.classes_
    if classes.dtype.kind in "iub":
        graph.node("Gather", [graph.constant("classes", classes.astype(np.int64), dtype=np.int64), index], label)
    else:
        from skl2onnx.proto import onnx_proto

        names = scope.get_unique_variable_name("classes")
        values = [str(c).encode("utf-8") for c in classes]
        container.add_initializer(names, onnx_proto.TensorProto.STRING, [len(values)], values)
        graph.node("Gather", [names, index], label)


def _convert_regressor(scope, operator, container):
    est = operator.raw_operator
    graph, z = _graph(scope, operator, container)
    graph.node(_OUT_ACTIVATIONS[est.out_activation_], [z], operator.outputs[0].full_name)


def _classifier_shapes(operator):
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType

    est = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    n_columns = 2 if est.n_outputs_ == 1 else est.n_outputs_
    multilabel = est._label_binarizer.y_type_ == "multilabel-indicator"
    if multilabel:
        operator.outputs[0].type = Int64TensorType([n, est.n_outputs_])
    elif est.classes_.dtype.kind in "iub":
        operator.outputs[0].type = Int64TensorType([n])
    else:
        operator.outputs[0].type = StringTensorType([n])
    operator.outputs[1].type = operator.inputs[0].type.__class__([n, n_columns])


def _regressor_shapes(operator):
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = operator.inputs[0].type.__class__([n, operator.raw_operator.n_outputs_])


def _refuse_tables(estimator):
    """The tabular estimators encode tables (text categories, missing values) in Python
    before their network; that encoding has no ONNX form here: say so."""
    from .estimators.tabular import TabularNetClassifier, TabularNetRegressor

    if isinstance(estimator, (TabularNetClassifier, TabularNetRegressor)):
        raise ValueError(
            f"{type(estimator).__name__} does not export to ONNX: its table encoding (category lookups, missing "
            "values, robust scaling) runs in Python before the network. Serve it with pickle, joblib or skops, or "
            "export a NumpyNetClassifier/NumpyNetRegressor behind a scikit-learn preprocessing pipeline."
        )


def _convert_table(scope, operator, container):
    _refuse_tables(operator.raw_operator)


def register_converters():
    """Register the estimators' shape calculators and converters with skl2onnx (done
    on import of this module; calling it again is harmless)."""
    skl2onnx = _skl2onnx()
    skl2onnx.update_registered_converter(
        NumpyNetClassifier, "SknnScratchNumpyNetClassifier", _classifier_shapes, _convert_classifier,
        options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
    )  # fmt: skip
    skl2onnx.update_registered_converter(
        NumpyNetRegressor, "SknnScratchNumpyNetRegressor", _regressor_shapes, _convert_regressor
    )
    from .estimators.tabular import TabularNetClassifier, TabularNetRegressor

    for cls, shapes in ((TabularNetClassifier, _classifier_shapes), (TabularNetRegressor, _regressor_shapes)):
        skl2onnx.update_registered_converter(cls, f"SknnScratch{cls.__name__}", shapes, _convert_table)


def to_onnx(estimator, X, *, target_opset=None):
    """The ONNX model of a fitted estimator, for rows like ``X`` (a sample of the input;
    float32 or float64). Classifiers output ``label`` and ``probabilities`` as arrays
    (no zipmap).

    Parameters
    ----------
    estimator : NumpyNetClassifier or NumpyNetRegressor, or a Pipeline ending in one
    X : ndarray of shape (n_samples, n_features)
    target_opset : int, default=None
        skl2onnx's default when None.

    Returns
    -------
    onnx.ModelProto
    """
    skl2onnx = _skl2onnx()
    register_converters()
    last = estimator[-1] if hasattr(estimator, "steps") else estimator
    _refuse_tables(last)
    options = {id(last): {"zipmap": False}} if isinstance(last, NumpyNetClassifier) else None
    return skl2onnx.to_onnx(estimator, np.asarray(X), options=options, target_opset=target_opset)


try:  # registered on import when skl2onnx is there; to_onnx says how to get it otherwise
    register_converters()
except ImportError:
    pass
