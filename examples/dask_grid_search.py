"""Grid search over architectures on a Dask cluster, through joblib.

Each fit trains in one process (the library starts no process of its own); joblib's
Dask backend sends the independent fits of the search to the cluster's workers. Here
the cluster is a ``distributed.LocalCluster`` on this machine; with
``Client("tcp://scheduler:8786")`` instead, the same code runs on a real cluster. Ray
offers the same through its joblib backend (``ray.util.joblib.register_ray()``, then
``joblib.parallel_backend("ray")``).

Run: pip install distributed && python examples/dask_grid_search.py
"""

import joblib
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from sknn_scratch import NumpyNetClassifier

GRID = {"hidden_layer_sizes": [(16,), (32,), (32, 16)], "alpha": [1e-4, 1e-2]}


def search(n_jobs=1):
    """The grid search over architectures, on digits."""
    X, y = load_digits(return_X_y=True)
    estimator = NumpyNetClassifier(learning_rate_init=0.01, max_iter=400, random_state=0)
    return GridSearchCV(estimator, GRID, cv=3, n_jobs=n_jobs).fit(X / 16, y)


def main(processes=True):
    from distributed import Client, LocalCluster

    local = search()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=None) as cluster:
        with Client(cluster), joblib.parallel_backend("dask"):
            remote = search(n_jobs=-1)
    same = np.array_equal(local.cv_results_["mean_test_score"], remote.cv_results_["mean_test_score"])
    print(f"best parameters: {remote.best_params_}, score {remote.best_score_:.4f}")
    print(f"the Dask search equals the local one: {same}")
    return local, remote


if __name__ == "__main__":  # worker processes import this file: start the cluster only when run
    main()
