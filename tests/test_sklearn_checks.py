"""scikit-learn's estimator checks, in every configuration the estimators are used in.

The plain MLP configurations have no expected failures. The others list, with the
reason, only the checks that cannot pass by design (as scikit-learn does for its own
estimators, e.g. SGDClassifier and sample-weight equivalence).
"""

import pytest
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_estimator,
    check_param_validation,
    parametrize_with_checks,
)

from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor, TabularNetClassifier, TabularNetRegressor

FAST = dict(hidden_layer_sizes=(10,), learning_rate_init=0.01, max_iter=100)
CNN = dict(
    layers=[("conv2d", {"out_channels": 4, "kernel_size": 3}), "relu"],
    input_shape=(1, 1, -1),
    learning_rate_init=0.01,
    max_iter=100,
)

# the tabular estimators with a small network (their 2 x 256 units train the 1000 epochs
# check_class_weight_classifiers asks for into the 0.0001-weighted rows too)
TABULAR = dict(hidden_layer_sizes=(32,), max_iter=50, random_state=0)

ESTIMATORS = [
    NumpyNetClassifier(**FAST),
    NumpyNetRegressor(**FAST),
    NumpyNetClassifier(**FAST, early_stopping=True),
    NumpyNetRegressor(**FAST, early_stopping=True),
    NumpyNetClassifier(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=200),
    NumpyNetRegressor(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=200),
    NumpyNetClassifier(hidden_layer_sizes=(10,), solver="sgd", learning_rate_init=0.1, max_iter=100),
    # plain SGD at 0.01 diverges on the unscaled multi-output targets of one check for ~1 seed in 150
    NumpyNetRegressor(hidden_layer_sizes=(10,), solver="sgd", learning_rate_init=0.003, max_iter=100),
    NumpyNetClassifier(**FAST, dropout=0.1, batch_norm=True),
    NumpyNetRegressor(**FAST, dropout=0.1, batch_norm=True),
    NumpyNetClassifier(**CNN),
    NumpyNetRegressor(**CNN),
    TabularNetClassifier(**TABULAR),
    TabularNetRegressor(**TABULAR),
]

_SW_DROPOUT = "dropout draws a mask per sample, so weighting a sample differs from repeating it"
_SW_SPLIT = "the random validation split differs between weighted and repeated data"
_ES_PARTIAL_FIT = "partial_fit does not support early_stopping=True (as MLP)"


_SW_TABULAR = (
    "a held-out share of the rows picks the best epoch, and dropout draws a mask per row: "
    "weighting a row differs from repeating it"
)


def expected_failures(estimator):
    params = estimator.get_params()
    failures = {}
    if isinstance(estimator, (TabularNetClassifier, TabularNetRegressor)):
        return {
            "check_sample_weight_equivalence_on_dense_data": _SW_TABULAR,
            "check_sample_weight_equivalence_on_sparse_data": _SW_TABULAR,
        }
    if params["early_stopping"]:
        failures.update(
            {
                "check_sample_weight_equivalence_on_dense_data": _SW_SPLIT,
                "check_sample_weight_equivalence_on_sparse_data": _SW_SPLIT,
                "check_fit_score_takes_y": _ES_PARTIAL_FIT,
                "check_n_features_in_after_fitting": _ES_PARTIAL_FIT,
                "check_estimators_partial_fit_n_features": _ES_PARTIAL_FIT,
            }
        )
    if params["dropout"]:
        failures.update(
            {
                "check_sample_weight_equivalence_on_dense_data": _SW_DROPOUT,
                "check_sample_weight_equivalence_on_sparse_data": _SW_DROPOUT,
            }
        )
    return failures


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures, xfail_strict=True)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("estimator", ESTIMATORS[:4], ids=repr)
def test_dataframe_column_names_and_param_validation(estimator):
    check_dataframe_column_names_consistency(type(estimator).__name__, estimator)
    check_param_validation(type(estimator).__name__, estimator)


@pytest.mark.slow
# check_estimator skips, with a warning, the checks that do not apply (array API, decision_function)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@pytest.mark.parametrize(
    "estimator",
    [
        TabularNetClassifier(**TABULAR, n_ensembles=2, numeric_embedding="piecewise_linear"),
        TabularNetRegressor(**TABULAR, n_ensembles=2, numeric_embedding="periodic", loss="huber"),
    ],
    ids=["tabular-ensemble-clf", "tabular-ensemble-reg"],
)
def test_tabular_variants_pass_the_checks(estimator):
    """Several networks and the other numeric embeddings pass too."""
    failures = check_estimator(estimator, on_fail=None, expected_failed_checks=expected_failures(estimator))
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in failures if r["status"] == "failed"]
    assert failed == []
