"""The layer engine: Torch7-style modules, criteria and losses.

A hand-written training loop runs against this package (the optimizers live in
:mod:`sknn_scratch.optim`, also importable from the top-level package)::

    from sknn_scratch.nn import Sequential, Linear, ReLU, LogSoftmax, ClassNLLCriterion
    from sknn_scratch.optim import adam

    net = Sequential()
    net.add(Linear(64, 32)); net.add(ReLU()); net.add(Linear(32, 10)); net.add(LogSoftmax())
    criterion = ClassNLLCriterion()
    config, state = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}, {}
    for x_batch, y_batch in batches:
        net.zeroGradParameters()
        predictions = net.forward(x_batch)
        loss = criterion.forward(predictions, y_batch)
        net.backward(x_batch, criterion.backward(predictions, y_batch))
        adam(net.getParameters(), net.getGradParameters(), config, state)
"""

from ..registry import ACTIVATIONS, CRITERIA, LAYERS, Registry
from .activation import Exp, Identity, LogSoftmax, ReLU, Sigmoid, SoftMax, Tanh
from .container import Sequential
from .conv import Conv2d
from .conv1d import Conv1d
from .criterion import BCECriterion, ClassNLLCriterion, Criterion, MSECriterion, PoissonCriterion
from .dropout import Dropout
from .embedding import Embedding
from .layernorm import LayerNorm
from .linear import Linear
from .linear_units import ELU, SELU, LeakyReLU, PReLU
from .losses import (
    AbsCriterion,
    ExpPoissonCriterion,
    HuberCriterion,
    Loss,
    PinballCriterion,
    SigmoidBCECriterion,
    SoftmaxCrossEntropyCriterion,
    SquaredErrorCriterion,
)
from .modern_activation import GELU, Mish, SiLU, Softplus
from .module import Module, as_generator
from .normalization import BatchNormalization
from .numeric_embedding import NumericEmbedding
from .parametric import ParametricActivation
from .pooling import AvgPool1d, AvgPool2d, GlobalAvgPool2d, MaxPool1d, MaxPool2d
from .reshape import Flatten, Reshape
from .residual import Residual
from .scaling import ChannelwiseScaling, FeatureScale
from .tabular_input import TabularInput

__all__ = [
    "Module",
    "Sequential",
    "Residual",
    "TabularInput",
    "Linear",
    "Conv1d",
    "Conv2d",
    "Embedding",
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "GlobalAvgPool2d",
    "Flatten",
    "Reshape",
    "Dropout",
    "BatchNormalization",
    "LayerNorm",
    "ChannelwiseScaling",
    "FeatureScale",
    "NumericEmbedding",
    "ParametricActivation",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "Identity",
    "Exp",
    "SoftMax",
    "LogSoftmax",
    "GELU",
    "SiLU",
    "Mish",
    "SELU",
    "ELU",
    "LeakyReLU",
    "Softplus",
    "PReLU",
    "Criterion",
    "Loss",
    "ClassNLLCriterion",
    "MSECriterion",
    "BCECriterion",
    "PoissonCriterion",
    "SoftmaxCrossEntropyCriterion",
    "SigmoidBCECriterion",
    "SquaredErrorCriterion",
    "ExpPoissonCriterion",
    "HuberCriterion",
    "AbsCriterion",
    "PinballCriterion",
    "as_generator",
]

# built-in components, by registry name
_BUILT_IN: dict[Registry, dict[str, type]] = {
    LAYERS: {
        "linear": Linear,
        "conv2d": Conv2d,
        "maxpool2d": MaxPool2d,
        "flatten": Flatten,
        "reshape": Reshape,
        "dropout": Dropout,
        "batchnorm": BatchNormalization,
        "channelwise_scaling": ChannelwiseScaling,
        "layernorm": LayerNorm,
        "embedding": Embedding,
        "conv1d": Conv1d,
        "avgpool2d": AvgPool2d,
        "globalavgpool2d": GlobalAvgPool2d,
        "avgpool1d": AvgPool1d,
        "maxpool1d": MaxPool1d,
        "residual": Residual,
        "tabular_input": TabularInput,
        "numeric_embedding": NumericEmbedding,
        "feature_scale": FeatureScale,
        "parametric": ParametricActivation,
    },
    ACTIVATIONS: {
        "relu": ReLU,
        "logistic": Sigmoid,
        "sigmoid": Sigmoid,
        "tanh": Tanh,
        "identity": Identity,
        "exp": Exp,
        "softmax": SoftMax,
        "logsoftmax": LogSoftmax,
        "gelu": GELU,
        "silu": SiLU,
        "mish": Mish,
        "selu": SELU,
        "leaky_relu": LeakyReLU,
        "elu": ELU,
        "softplus": Softplus,
        "prelu": PReLU,
    },
    CRITERIA: {
        "nll": ClassNLLCriterion,
        "mse": MSECriterion,
        "bce": BCECriterion,
        "poisson_mean": PoissonCriterion,
        "softmax_cross_entropy": SoftmaxCrossEntropyCriterion,
        "sigmoid_bce": SigmoidBCECriterion,
        "squared_error": SquaredErrorCriterion,
        "poisson": ExpPoissonCriterion,
        "huber": HuberCriterion,
        "absolute_error": AbsCriterion,
        "quantile": PinballCriterion,
    },
}
LAYERS.base = ACTIVATIONS.base = Module
CRITERIA.base = Criterion
for _registry, _items in _BUILT_IN.items():
    for _name, _cls in _items.items():
        _registry.register(_name, _cls)
del _registry, _items, _name, _cls
