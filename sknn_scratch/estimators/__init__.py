"""scikit-learn estimators built on the layer engine."""

from .classifier import NumpyNetClassifier
from .regressor import NumpyNetRegressor
from .tabular import TabularNetClassifier, TabularNetRegressor

__all__ = ["NumpyNetClassifier", "NumpyNetRegressor", "TabularNetClassifier", "TabularNetRegressor"]
