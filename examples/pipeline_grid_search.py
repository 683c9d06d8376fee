"""Grid search over architectures inside a Pipeline, exactly as with MLPClassifier.

Run: python examples/pipeline_grid_search.py
"""

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sknn_scratch import NumpyNetClassifier

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

pipe = Pipeline([("scale", StandardScaler()), ("net", NumpyNetClassifier(max_iter=300, random_state=0))])
grid = GridSearchCV(
    pipe,
    {
        # MLP-style parameters ...
        "net__hidden_layer_sizes": [(16,), (32, 16)],
        "net__alpha": [1e-4, 1e-2],
        # ... and whole architectures given as layer specs
        "net__layers": [
            None,
            [("linear", {"n_out": 32}), "batchnorm", "channelwise_scaling", "relu", ("dropout", {"p": 0.2})],
        ],
    },
    cv=3,
    n_jobs=2,
)
grid.fit(X_train, y_train)
print("best parameters:", grid.best_params_)
print(f"cross-validated accuracy {grid.best_score_:.4f}, test accuracy {grid.score(X_test, y_test):.4f}")
