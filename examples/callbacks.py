"""Callbacks: early stopping on the validation loss (keeping the best epoch), a checkpoint
of the best model, and the learning rate halved when the validation loss stalls.

Run: python examples/callbacks.py
"""

import tempfile
from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknn_scratch import NumpyNetClassifier
from sknn_scratch.callbacks import Checkpoint, EarlyStopping, History, ProgressBar, ReduceLROnPlateau


def main():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "best.joblib"
        history = History()
        clf = NumpyNetClassifier(
            hidden_layer_sizes=(64,),
            learning_rate_init=0.01,
            max_iter=200,
            n_iter_no_change=1000,  # the callbacks decide when to stop
            random_state=0,
            callbacks=[
                ProgressBar(every=5),
                EarlyStopping(monitor="validation_loss", patience=8, restore_best=True),
                Checkpoint(path, monitor="validation_loss"),
                ReduceLROnPlateau(monitor="validation_loss", factor=0.5, patience=3),
                history,
            ],
        ).fit(X_train, y_train, validation_data=(X_val, y_val))
        best = int(np.argmin(clf.validation_loss_curve_)) + 1
        saved = joblib.load(path)
        same = np.array_equal(saved.predict_proba(X_val), clf.predict_proba(X_val))
    print(f"stopped after {clf.n_iter_} epochs; best validation loss at epoch {best}, restored")
    print(f"learning rate at the end: {clf.learning_rate_:g} (from {history.history['learning_rate'][0]:g})")
    print(f"the checkpoint of epoch {best} predicts as the final model: {same}")
    print(f"validation accuracy {clf.score(X_val, y_val):.4f}")
    return clf, same


if __name__ == "__main__":
    main()
