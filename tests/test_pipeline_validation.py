"""A validation set in a Pipeline: ``fit(X_val=, y_val=)`` goes through the earlier steps with
``Pipeline(transform_input=["X_val"])``; ``validation_data`` does not, and says so."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sknn_scratch import NumpyNetClassifier
from sknn_scratch.callbacks import EarlyStopping

pd = pytest.importorskip("pandas")


def _table(n, seed):
    """A text column and two numbers; the class depends on the text and on a number."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {"colour": rng.choice(["red", "green", "blue"], n), "size": rng.normal(10, 3, n), "noise": rng.normal(size=n)}
    )
    return table, ((table["colour"] == "red") ^ (table["size"] > 10)).astype(int).to_numpy()


X_TRAIN, Y_TRAIN = _table(240, 0)
X_VAL, Y_VAL = _table(80, 1)


def _pipeline(network, **kw):
    columns = ColumnTransformer(
        [("text", OneHotEncoder(), ["colour"]), ("numbers", StandardScaler(), ["size", "noise"])]
    )
    return Pipeline([("columns", columns), ("network", network)], **kw)


def test_x_val_goes_through_the_column_transformer_and_feeds_early_stopping():
    stopper = EarlyStopping(monitor="validation_loss", patience=3)
    network = NumpyNetClassifier(hidden_layer_sizes=(16,), max_iter=500, learning_rate_init=0.05, callbacks=stopper)
    with sklearn.config_context(enable_metadata_routing=True):
        network.set_params(random_state=0).set_fit_request(X_val=True, y_val=True)
        pipe = _pipeline(network, transform_input=["X_val"]).fit(X_TRAIN, Y_TRAIN, X_val=X_VAL, y_val=Y_VAL)
    fitted = pipe[-1]
    assert fitted.n_iter_ == stopper.stopped_epoch < 500  # the callback stopped training on the validation loss
    assert fitted.t_ == fitted.n_iter_ * len(X_TRAIN)  # every training row trained: the validation set is X_val
    # the validation set went through the pipeline's steps: its last score is the pipeline's on X_val
    assert fitted.validation_scores_[-1] == pipe.score(X_VAL, Y_VAL) > 0.9
    best = int(np.argmin(fitted.validation_loss_curve_))
    assert fitted.n_iter_ == best + 1 + 3


@pytest.mark.parametrize("spelling", ["validation_data", "X_val without transform_input"])
def test_an_untransformed_validation_set_says_to_use_x_val_with_transform_input(spelling):
    network = NumpyNetClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        if spelling == "validation_data":
            network.set_fit_request(validation_data=True)
            given = {"validation_data": (X_VAL, Y_VAL)}
        else:
            network.set_fit_request(X_val=True, y_val=True)
            given = {"X_val": X_VAL, "y_val": Y_VAL}
        pipe = _pipeline(network)
        with warnings.catch_warnings(), pytest.raises(ValueError) as info:
            warnings.simplefilter("error")  # the error comes alone, without scikit-learn's feature-names warning
            pipe.fit(X_TRAIN, Y_TRAIN, **given)
    message = str(info.value)
    assert message.startswith("The validation set's X is a table with column names, but X was an array")
    for advice in ('transform_input=["X_val"]', "fit(X, y, X_val=X_val, y_val=y_val)", "enable_metadata_routing=True"):
        assert advice in message
    assert not hasattr(pipe[-1], "n_iter_")


@pytest.mark.filterwarnings("error")
def test_an_untransformed_table_of_numbers_is_refused_rather_than_scored_unscaled():
    # its values would convert, so the network would score the validation rows as the scaler never saw them
    numbers = X_TRAIN[["size", "noise"]]
    pipe = Pipeline([("scale", StandardScaler()), ("network", NumpyNetClassifier(max_iter=5, random_state=0))])
    with pytest.raises(ValueError, match=r"is a table with column names, but X was an array.*X_val\.to_numpy\(\)"):
        pipe.fit(numbers, Y_TRAIN, network__validation_data=(X_VAL[["size", "noise"]], Y_VAL))
    assert not hasattr(pipe[-1], "n_iter_")


def test_the_validation_set_advice_also_covers_a_wrong_number_of_columns():
    network = NumpyNetClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    rows = np.random.default_rng(0).normal(size=(50, 4))
    with pytest.raises(ValueError, match=r"X has 3 features, but NumpyNetClassifier is expecting 4.*transform_input"):
        network.fit(rows, rows[:, 0] > 0, validation_data=(rows[:10, :3], rows[:10, 0] > 0))
