"""sknn_scratch: neural networks on NumPy and SciPy with scikit-learn estimators.

``sknn_scratch.nn`` is the layer engine (modules, criteria, optimizers);
``NumpyNetClassifier`` and ``NumpyNetRegressor`` are scikit-learn estimators built on it.
"""

__version__ = "0.2.0"

from . import callbacks, nn, optim, registry  # noqa: E402  (nn and optim register their built-in components)
from .estimators import (  # noqa: E402
    NumpyNetClassifier,
    NumpyNetRegressor,
    TabularNetClassifier,
    TabularNetRegressor,
)
from .optim import adam, sgd_momentum  # noqa: E402
from .registry import register  # noqa: E402

__all__ = [
    "NumpyNetClassifier",
    "NumpyNetRegressor",
    "TabularNetClassifier",
    "TabularNetRegressor",
    "callbacks",
    "nn",
    "optim",
    "registry",
    "register",
    "sgd_momentum",
    "adam",
    "__version__",
]
