"""Head to head with scikit-learn's MLPClassifier: the same parameters, accuracy and time.

Run: python examples/compare_with_mlp.py
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from sknn_scratch import NumpyNetClassifier

PARAMS = dict(hidden_layer_sizes=(128, 64), batch_size=64, max_iter=30, random_state=0)


def main():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    results = {}
    for cls in (MLPClassifier, NumpyNetClassifier):  # code written for MLP runs by changing the class name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # 30 epochs on purpose
            start = time.perf_counter()
            model = cls(**PARAMS).fit(X_train, y_train)
            seconds = time.perf_counter() - start
        results[cls.__name__] = (model.score(X_test, y_test), seconds)
        print(f"{cls.__name__:<20} test accuracy {results[cls.__name__][0]:.4f}   fit {seconds:.2f} s")
    return results


if __name__ == "__main__":
    main()
