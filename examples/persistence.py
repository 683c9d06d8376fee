"""Save a trained model with joblib or skops, load it (also memory-mapped) and keep training.

Run: python examples/persistence.py
"""

import tempfile
from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

from sknn_scratch import NumpyNetClassifier

X, y = load_iris(return_X_y=True)
X = StandardScaler().fit_transform(X)
clf = NumpyNetClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=300, random_state=0).fit(X, y)
print("trained model:", clf.score(X, y))

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "model.joblib"
    joblib.dump(clf, path)
    loaded = joblib.load(path, mmap_mode="r")  # weights come back as read-only memory maps
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X)), "predictions differ after loading"
    print("loaded model predicts identically:", loaded.score(X, y))
    loaded.partial_fit(X, y)  # training continues on the loaded model
    loaded.set_params(warm_start=True, max_iter=20).fit(X, y)
    print("after partial_fit + warm-start fit:", loaded.score(X, y), "epochs in last fit:", loaded.n_iter_)

try:
    import skops.io as sio
except ImportError:  # pip install skops
    sio = None
if sio is not None:
    # skops loads only the types you trust: a saved model holds no type but the estimator's class
    data = sio.dumps(clf)
    untrusted = sio.get_untrusted_types(data=data)
    print("types skops asks you to trust:", untrusted)
    again = sio.loads(data, trusted=untrusted)
    assert np.array_equal(again.predict_proba(X), clf.predict_proba(X)), "predictions differ after skops"
    print("skops round trip predicts identically")
