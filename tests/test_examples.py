"""The example scripts run as a user would run them."""

import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_persistence_example(capsys):
    runpy.run_path(str(EXAMPLES / "persistence.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "loaded model predicts identically" in out


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_grid_search_example(capsys):
    runpy.run_path(str(EXAMPLES / "pipeline_grid_search.py"), run_name="__main__")
    assert "best parameters:" in capsys.readouterr().out


def _accuracies(out):
    return [float(line.split("test accuracy ")[1].split()[0]) for line in out.splitlines() if "test accuracy" in line]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_demo_module_prints_accuracies_and_progress(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["python -m sknn_scratch"])  # the README's first command, no options
    runpy.run_module("sknn_scratch", run_name="__main__")
    out = capsys.readouterr().out
    accuracies = _accuracies(out)
    assert len(accuracies) == 2 and min(accuracies) > 0.9
    assert "ETA" in out  # progress while it trains


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_demo_options(capsys, tmp_path):
    from sknn_scratch.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0 and "--compare" in capsys.readouterr().out
    pytest.importorskip("matplotlib")
    main(["--dataset", "iris", "--model", "mlp", "--compare", "--quiet", "--plot", str(tmp_path / "curves.png")])
    out = capsys.readouterr().out
    assert len(_accuracies(out)) == 2 and "MLPClassifier" in out and "ETA" not in out
    assert (tmp_path / "curves.png").stat().st_size > 1000
    main(["--model", "engine"])
    assert _accuracies(capsys.readouterr().out)[0] > 0.9
    with pytest.raises(SystemExit) as exit_info:
        main(["--dataset", "iris", "--model", "cnn"])
    assert exit_info.value.code == 2 and "needs --dataset digits" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_cnn_of_the_examples_exceeds_097_on_digits_in_cross_validation():
    """The CNN of examples/cnn_digits.py, given by layers + input_shape, on flat digits rows."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    from sknn_scratch import NumpyNetClassifier

    namespace = runpy.run_path(str(EXAMPLES / "cnn_digits.py"))  # not as __main__: only the configuration
    X, y = load_digits(return_X_y=True)
    cnn = make_pipeline(MinMaxScaler(), NumpyNetClassifier(random_state=0, **namespace["CNN"]))
    scores = cross_val_score(cnn, X.astype(np.float32), y, cv=5)
    assert scores.mean() > 0.97


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_dask_grid_search_equals_the_local_one(capsys):
    pytest.importorskip("distributed")
    namespace = runpy.run_path(str(EXAMPLES / "dask_grid_search.py"))  # not as __main__: the functions only
    local, remote = namespace["main"](processes=False)
    np.testing.assert_array_equal(local.cv_results_["mean_test_score"], remote.cv_results_["mean_test_score"])
    assert local.best_params_ == remote.best_params_
    assert "equals the local one: True" in capsys.readouterr().out
