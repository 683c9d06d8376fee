"""Counts with ``loss="poisson"``: an exponential output trained on the Poisson deviance,
against the squared error, scored by the mean Poisson deviance on held-out rows.

Run: python examples/poisson_regression.py
"""

import numpy as np
from sklearn.metrics import mean_poisson_deviance
from sklearn.model_selection import train_test_split

from sknn_scratch import NumpyNetRegressor


def main():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 5))
    rate = np.exp(0.3 + X @ np.array([0.5, -0.4, 0.3, 0.0, 0.2]))  # counts whose mean grows exponentially
    y = rng.poisson(rate)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    scores = {}
    for loss in ("poisson", "squared_error"):
        reg = NumpyNetRegressor(hidden_layer_sizes=(16,), loss=loss, learning_rate_init=0.01, max_iter=200)
        reg.set_params(random_state=0).fit(X_train, y_train)
        prediction = np.clip(reg.predict(X_test), 1e-6, None)  # the squared error may predict below zero
        scores[loss] = mean_poisson_deviance(y_test, prediction)
        print(f"loss={loss!r:<16} out_activation_={reg.out_activation_!r:<11} mean Poisson deviance {scores[loss]:.4f}")
    return scores


if __name__ == "__main__":
    main()
