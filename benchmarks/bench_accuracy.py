"""5-fold cross-validated scores of NumpyNet* and MLP* on the datasets bundled with scikit-learn.

    python benchmarks/bench_accuracy.py [--seeds 0 1 2]

Both estimators run with their defaults (and the same random_state) after a StandardScaler.
Also scores a small CNN (NumpyNetClassifier with layers + input_shape) on digits.
"""

from __future__ import annotations

import argparse
import runpy
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor

warnings.simplefilter("ignore", ConvergenceWarning)

DATASETS = {
    "iris": (load_iris, NumpyNetClassifier, MLPClassifier),
    "wine": (load_wine, NumpyNetClassifier, MLPClassifier),
    "breast_cancer": (load_breast_cancer, NumpyNetClassifier, MLPClassifier),
    "digits": (load_digits, NumpyNetClassifier, MLPClassifier),
    "diabetes": (load_diabetes, NumpyNetRegressor, MLPRegressor),
}

#: the CNN of examples/cnn_digits.py
CNN = runpy.run_path(str(Path(__file__).resolve().parent.parent / "examples" / "cnn_digits.py"))["CNN"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--skip-cnn", action="store_true")
    args = parser.parse_args()
    print(f"{'dataset':<16}{'NumpyNet':>10}{'MLP':>10}{'diff':>9}   (5-fold CV, mean over seeds {args.seeds})")
    for name, (load, ours, theirs) in DATASETS.items():
        X, y = load(return_X_y=True)
        if ours is NumpyNetRegressor:
            y = (y - y.mean()) / y.std()
        a = np.mean(
            [
                cross_val_score(make_pipeline(StandardScaler(), ours(random_state=s)), X, y, cv=5).mean()
                for s in args.seeds
            ]
        )
        b = np.mean(
            [
                cross_val_score(make_pipeline(StandardScaler(), theirs(random_state=s)), X, y, cv=5).mean()
                for s in args.seeds
            ]
        )
        print(f"{name:<16}{a:10.4f}{b:10.4f}{a - b:+9.4f}", flush=True)
    if not args.skip_cnn:
        X, y = load_digits(return_X_y=True)
        X = X.astype(np.float32)
        start = time.perf_counter()
        scores = [
            cross_val_score(make_pipeline(MinMaxScaler(), NumpyNetClassifier(random_state=s, **CNN)), X, y, cv=5)
            for s in args.seeds
        ]
        print(
            f"{'digits CNN':<16}{np.mean(scores):10.4f}{'':>10}{'':>9}   folds {np.round(scores, 4).tolist()}"
            f" ({time.perf_counter() - start:.0f} s)"
        )


if __name__ == "__main__":
    main()
