"""A small convolutional network on scikit-learn's 8x8 digits, from flat rows, in float32,
with a progress line every few epochs, early stopping on a validation set held out of the
training rows, and a figure of its loss curves.

Run: python examples/cnn_digits.py   (writes cnn_digits_loss.png; needs matplotlib for it)
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknn_scratch import NumpyNetClassifier
from sknn_scratch.callbacks import EarlyStopping, ProgressBar

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


def main(max_iter=40, plot="cnn_digits_loss.png"):
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)  # float32 trains faster and stays float32
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    X_fit, X_val, y_fit, y_val = train_test_split(X_train, y_train, test_size=0.2, stratify=y_train, random_state=0)
    params = {**CNN, "max_iter": max_iter}
    # the validation loss of every epoch decides when training ends; the best epoch's weights are kept
    stop = EarlyStopping(monitor="validation_loss", patience=3, restore_best=True)
    cnn = NumpyNetClassifier(random_state=0, callbacks=[ProgressBar(every=5), stop], **params)
    cnn.fit(X_fit, y_fit, X_val=X_val, y_val=y_val)  # about 10 s
    cnn.summary()
    print(f"test accuracy {cnn.score(X_test, y_test):.4f}")
    if plot:
        try:
            import matplotlib

            matplotlib.use("Agg")
        except ImportError:
            print("(pip install matplotlib for the figure of the loss curves)")
            return cnn
        from sknn_scratch.plotting import LossCurveDisplay

        LossCurveDisplay.from_estimator(cnn, name="CNN on digits").figure_.savefig(plot)
        print(f"loss curves saved to {plot}")
    return cnn


if __name__ == "__main__":
    main()
