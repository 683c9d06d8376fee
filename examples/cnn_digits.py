"""A small convolutional network on scikit-learn's 8x8 digits, from flat rows.

Run: python examples/cnn_digits.py
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score

from sknn_scratch import NumpyNetClassifier

#: the network, as estimator parameters (also used by benchmarks/bench_accuracy.py)
CNN = dict(
    layers=[
        ("conv2d", {"out_channels": 32, "kernel_size": 3}),
        "relu",
        ("conv2d", {"out_channels": 32, "kernel_size": 3}),
        "relu",
        ("maxpool2d", {"kernel_size": 2}),
        ("dropout", {"p": 0.25}),
        ("linear", {"n_out": 128}),  # a Flatten is inserted automatically
        "relu",
        ("dropout", {"p": 0.25}),
    ],
    input_shape=(1, 8, 8),  # each row of X is one 1x8x8 image
    batch_size=32,
    alpha=1e-3,
    max_iter=40,
)

if __name__ == "__main__":
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)  # float32 trains faster and stays float32
    cnn = NumpyNetClassifier(random_state=0, **CNN)
    scores = cross_val_score(cnn, X, y, cv=5)
    print(f"5-fold accuracy: {scores.mean():.4f} +- {scores.std():.4f}")
    cnn.fit(X, y)
    print(cnn.network_)
