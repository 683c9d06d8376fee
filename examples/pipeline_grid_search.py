"""Grid search over architectures inside a Pipeline, exactly as with MLPClassifier.

``hidden_layer_sizes`` is used only when ``layers`` is None, so the search is a list of
two grids: MLP-style networks, and whole architectures given as layer specs. No
candidate is tried twice.

Run: python examples/pipeline_grid_search.py
"""

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sknn_scratch import NumpyNetClassifier

GRIDS = [
    # MLP-style parameters ...
    {"net__hidden_layer_sizes": [(16,), (32, 16)], "net__alpha": [1e-4, 1e-2]},
    # ... and whole architectures given as layer specs
    {
        "net__layers": [
            [("linear", {"n_out": 32}), "batchnorm", "channelwise_scaling", "relu", ("dropout", {"p": 0.2})],
            [("linear", {"n_out": 32}), "tanh", ("linear", {"n_out": 16}), "tanh"],
        ],
        "net__alpha": [1e-4, 1e-2],
    },
]

if __name__ == "__main__":
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    net = NumpyNetClassifier(learning_rate_init=0.01, max_iter=300, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()), ("net", net)])
    grid = GridSearchCV(pipe, GRIDS, cv=3, n_jobs=2).fit(X_train, y_train)
    print(f"{len(grid.cv_results_['params'])} candidates")
    print("best parameters:", grid.best_params_)
    print(f"cross-validated accuracy {grid.best_score_:.4f}, test accuracy {grid.score(X_test, y_test):.4f}")
