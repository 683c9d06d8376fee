"""scikit-learn estimators built on the layer engine."""

from .classifier import NumpyNetClassifier
from .regressor import NumpyNetRegressor

__all__ = ["NumpyNetClassifier", "NumpyNetRegressor"]
