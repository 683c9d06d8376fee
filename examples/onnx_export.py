"""Export a fitted CNN to ONNX and serve it with onnxruntime.

Run: pip install skl2onnx onnxruntime && python examples/onnx_export.py
"""

import numpy as np
from sklearn.datasets import load_digits

from sknn_scratch import NumpyNetClassifier
from sknn_scratch.onnx import to_onnx


def main():
    import onnxruntime

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    layers = [("conv2d", {"out_channels": 8, "kernel_size": 3}), "batchnorm", "relu", ("maxpool2d", {"kernel_size": 2})]
    cnn = NumpyNetClassifier(
        layers=layers, input_shape=(1, 8, 8), learning_rate_init=0.01, early_stopping=True, max_iter=200, random_state=0
    ).fit(X, y)
    model = to_onnx(cnn, X[:1])
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(None, {"X": X})
    gap = float(np.abs(probabilities - cnn.predict_proba(X)).max())
    print(f"ONNX model: {len(model.graph.node)} nodes; largest difference from predict_proba: {gap:.2e}")
    print(f"labels agree on {np.mean(labels == cnn.predict(X)):.2%} of the rows")
    return gap


if __name__ == "__main__":
    main()
