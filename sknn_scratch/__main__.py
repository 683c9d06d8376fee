"""Demo: ``python -m sknn_scratch`` trains networks on scikit-learn's bundled digits.

1. The layer engine directly, with a notebook-style training loop (a small CNN).
2. ``NumpyNetClassifier`` as a drop-in for ``MLPClassifier``.
Both print their held-out accuracy.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknn_scratch import NumpyNetClassifier, adam
from sknn_scratch.nn import (
    ClassNLLCriterion,
    Conv2d,
    Flatten,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Sequential,
)


def engine_demo(X_train, X_test, y_train, y_test, seed=0):
    """A notebook-style loop: forward, criterion, backward, functional Adam."""
    rng = np.random.default_rng(seed)
    net = Sequential(
        Conv2d(1, 8, 3, init="glorot_uniform", rng=rng),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(8 * 4 * 4, 10, init="glorot_uniform", rng=rng),
        LogSoftmax(),
    )
    criterion = ClassNLLCriterion()
    config = {"learning_rate": 3e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
    state = {}
    images = X_train.reshape(-1, 1, 8, 8)
    for _epoch in range(15):
        order = rng.permutation(len(images))
        for start in range(0, len(order), 64):
            idx = order[start : start + 64]
            net.zeroGradParameters()
            log_proba = net.forward(images[idx])
            criterion.forward(log_proba, y_train[idx])
            net.backward(images[idx], criterion.backward(log_proba, y_train[idx]))
            adam(net.getParameters(), net.getGradParameters(), config, state)
    net.evaluate()
    predicted = net.forward(X_test.reshape(-1, 1, 8, 8)).argmax(axis=1)
    return float(np.mean(predicted == y_test))


def main():
    """Train the estimator and a notebook-style loop on digits; print their test accuracies."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)

    start = time.perf_counter()
    accuracy = engine_demo(X_train, X_test, y_train, y_test)
    print(
        f"engine CNN (conv3x3 -> relu -> maxpool -> linear), 15 epochs: test accuracy {accuracy:.4f} "
        f"({time.perf_counter() - start:.1f} s)"
    )

    start = time.perf_counter()
    clf = NumpyNetClassifier(hidden_layer_sizes=(64,), max_iter=500, random_state=0).fit(X_train, y_train)
    print(
        f"NumpyNetClassifier(hidden_layer_sizes=(64,)): test accuracy {clf.score(X_test, y_test):.4f} "
        f"({time.perf_counter() - start:.1f} s)"
    )


if __name__ == "__main__":
    main()
