"""Demo: ``python -m sknn_scratch`` trains networks on a data set bundled with scikit-learn.

By default an MLP (``NumpyNetClassifier``) and a small CNN on the digits, with a progress
line every few epochs, then their held-out accuracy. ``--help`` lists the options:
another data set, one model, a hand-written engine loop, a comparison with
scikit-learn's ``MLPClassifier``, a plot of the loss curves.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from sknn_scratch import NumpyNetClassifier, adam
from sknn_scratch.callbacks import ProgressBar
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

DATASETS = {
    "digits": datasets.load_digits,
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
}
CNN_LAYERS = [
    ("conv2d", {"out_channels": 16, "kernel_size": 3}),
    "relu",
    ("maxpool2d", {"kernel_size": 2}),
    ("linear", {"n_out": 64}),
    "relu",
]


#: epochs of the hand-written engine loop (fewer with a smaller --epochs)
ENGINE_EPOCHS = 15


def engine_demo(X_train, X_test, y_train, y_test, seed=0, epochs=ENGINE_EPOCHS):
    """A hand-written training loop on 8x8 images: forward, criterion, backward, functional Adam."""
    rng = np.random.default_rng(seed)
    net = Sequential(
        Conv2d(1, 8, 3, rng=rng, dtype=np.float32),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(8 * 4 * 4, 10, rng=rng, dtype=np.float32),
        LogSoftmax(),
    )
    criterion = ClassNLLCriterion()
    config, state = {"learning_rate": 1e-2, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}, {}
    images = X_train.reshape(-1, 1, 8, 8)
    for _ in range(epochs):
        order = rng.permutation(len(images))
        for start in range(0, len(images), 32):
            batch = order[start : start + 32]
            net.zeroGradParameters()
            predictions = net.forward(images[batch])
            criterion.forward(predictions, y_train[batch])
            net.backward(images[batch], criterion.backward(predictions, y_train[batch]))
            adam(net.getParameters(), net.getGradParameters(), config, state)
    net.evaluate()
    predicted = net.forward(X_test.reshape(-1, 1, 8, 8)).argmax(axis=1)
    return float(np.mean(predicted == y_test))


def _integer(low, high=None):
    """An argparse type: an integer in ``[low, high]``."""

    def integer(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            expected = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise argparse.ArgumentTypeError(f"expected an integer {expected}, got {value}")
        return value

    return integer


def _figure_file(text):
    """An argparse type: a path matplotlib can save a figure to, in an existing directory."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory, expected a file name")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"the directory of {text!r} does not exist")
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise argparse.ArgumentTypeError("needs matplotlib: pip install matplotlib") from None
    formats = FigureCanvasBase.get_supported_filetypes()
    if path.suffix and path.suffix[1:].lower() not in formats:
        raise argparse.ArgumentTypeError(
            f"matplotlib cannot write {path.suffix!r} files; use one of: {', '.join(sorted(formats))}"
        )
    return text


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m sknn_scratch",
        description="Train neural networks written from scratch on NumPy on a data set bundled with "
        "scikit-learn, and print their held-out accuracy.",
    )
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="digits", help="default: digits")
    parser.add_argument(
        "--model",
        choices=["mlp", "cnn", "both", "engine"],
        default="both",
        help="the MLP estimator, the CNN estimator (digits only: its rows are 8x8 images), both (default), "
        "or a hand-written engine loop (digits)",
    )
    parser.add_argument("--compare", action="store_true", help="also train scikit-learn's MLPClassifier")
    parser.add_argument(
        "--plot", metavar="FILE", type=_figure_file, help="save the loss curves to FILE, e.g. a .png (needs matplotlib)"
    )
    parser.add_argument(
        "--epochs",
        type=_integer(1),
        default=200,
        metavar="N",
        help=f"most epochs per model, >= 1 (default: 200; the engine loop trains {ENGINE_EPOCHS} at most)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines while training")
    seed = _integer(0, 2**32 - 1)
    parser.add_argument("--seed", type=seed, default=0, metavar="N", help="random seed, in [0, 2**32 - 1] (default: 0)")
    return parser


def main(argv=None):
    """Run the demo with the command-line arguments ``argv`` (``sys.argv`` by default)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.model in ("cnn", "engine") and args.dataset != "digits":
        parser.error(f"--model {args.model} needs --dataset digits (8x8 images)")
    X, y = DATASETS[args.dataset](return_X_y=True)
    X = MinMaxScaler().fit_transform(X).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=args.seed, stratify=y)
    if args.model == "engine":
        start = time.perf_counter()
        epochs = min(args.epochs, ENGINE_EPOCHS)
        accuracy = engine_demo(X_train, X_test, y_train, y_test, args.seed, epochs)
        print(f"engine CNN, {epochs} epochs: test accuracy {accuracy:.4f} ({time.perf_counter() - start:.1f} s)")
        return

    common = dict(max_iter=args.epochs, early_stopping=True, random_state=args.seed)
    models = {}
    if args.model in ("mlp", "both"):
        models["NumpyNetClassifier MLP (64,)"] = NumpyNetClassifier(hidden_layer_sizes=(64,), **common)
    if args.model in ("cnn", "both") and args.dataset == "digits":
        models["NumpyNetClassifier CNN"] = NumpyNetClassifier(
            layers=CNN_LAYERS, input_shape=(1, 8, 8), learning_rate_init=0.01, **common
        )
    if args.compare:
        from sklearn.neural_network import MLPClassifier

        models["sklearn MLPClassifier (64,)"] = MLPClassifier(hidden_layer_sizes=(64,), **common)
    for name, model in models.items():
        if not args.quiet and isinstance(model, NumpyNetClassifier):
            print(f"{name}:")
            model.set_params(callbacks=ProgressBar(every=10))
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        for warning in caught:  # said in the demo's words; any other warning is shown as it came
            if issubclass(warning.category, ConvergenceWarning):
                print(f"{name}: --epochs {args.epochs} ended the training before it converged")
            else:
                warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
        print(f"{name}: test accuracy {model.score(X_test, y_test):.4f} ({model.n_iter_} epochs, {seconds:.1f} s)")
    if args.plot:
        _plot(models, args.plot)


def _plot(models, path):
    """The loss curves of every model, side by side, saved to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sknn_scratch.plotting import LossCurveDisplay

    fig, axes = plt.subplots(1, len(models), figsize=(6 * len(models), 4.5), squeeze=False, layout="constrained")
    for ax, (name, model) in zip(axes[0], models.items(), strict=True):
        LossCurveDisplay.from_estimator(model, ax=ax, name=name)
    fig.savefig(path)
    print(f"loss curves saved to {path}")


if __name__ == "__main__":
    main()
