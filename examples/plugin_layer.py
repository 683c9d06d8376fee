"""Use a plugin layer by name: the package in examples/plugin_package declares it as an
entry point of the group ``sknn_scratch.layers``.

Run: pip install ./examples/plugin_package && python examples/plugin_layer.py
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score

from sknn_scratch import NumpyNetClassifier
from sknn_scratch.registry import LAYERS
from sknn_scratch.testing import check_module


def main():
    GaussianNoise = LAYERS.get("gaussian_noise")  # loaded from the entry point on first use
    report = check_module(GaussianNoise(0.1, rng=0), np.random.default_rng(0).normal(size=(4, 6)))
    print(f"check_module passed: largest input-gradient error {report['grad_input_error']:.1e}")
    X, y = load_digits(return_X_y=True)
    layers = [("gaussian_noise", {"sigma": 0.2}), ("linear", {"n_out": 64}), "relu"]
    clf = NumpyNetClassifier(layers=layers, learning_rate_init=0.01, max_iter=50, random_state=0)
    scores = cross_val_score(clf, X / 16, y, cv=3)
    print(f"{clf.fit(X / 16, y).network_}\n3-fold accuracy with input noise: {scores.mean():.4f}")
    return scores


if __name__ == "__main__":
    main()
