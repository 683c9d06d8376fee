"""The example scripts run as a user would run them."""

import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.filterwarnings("error")  # an example prints no warning
def test_persistence_example(capsys):
    runpy.run_path(str(EXAMPLES / "persistence.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "loaded model predicts identically" in out


@pytest.mark.slow
@pytest.mark.filterwarnings("error")  # an example prints no warning
def test_pipeline_grid_search_example_tries_no_candidate_twice(capsys):
    from sklearn.model_selection import ParameterGrid

    namespace = runpy.run_path(str(EXAMPLES / "pipeline_grid_search.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "8 candidates" in out and "best parameters:" in out
    # what each candidate builds: hidden_layer_sizes counts only without layers
    built = {
        repr((p.get("net__layers"), p["net__alpha"], None if "net__layers" in p else p["net__hidden_layer_sizes"]))
        for p in ParameterGrid(namespace["GRIDS"])
    }
    assert len(built) == len(ParameterGrid(namespace["GRIDS"])) == 8


def _run(name, *args, **kwargs):
    """The example's main(), run as the user's script would."""
    return runpy.run_path(str(EXAMPLES / f"{name}.py"))["main"](*args, **kwargs)


@pytest.mark.filterwarnings("error")  # an example prints no warning
def test_compare_with_mlp_example(capsys):
    results = _run("compare_with_mlp")
    assert set(results) == {"MLPClassifier", "NumpyNetClassifier"}
    assert all(accuracy > 0.9 for accuracy, _ in results.values())


@pytest.mark.filterwarnings("error")  # an example prints no warning
def test_poisson_regression_example(capsys):
    scores = _run("poisson_regression")
    assert scores["poisson"] < scores["squared_error"]


@pytest.mark.filterwarnings("error")  # an example prints no warning
def test_callbacks_example(capsys):
    clf, same = _run("callbacks")
    assert same and clf.n_iter_ < 200 and clf.learning_rate_ < 0.01
    assert "stopped after" in capsys.readouterr().out


@pytest.mark.filterwarnings("error")  # an example prints no warning
def test_onnx_export_example(capsys):
    pytest.importorskip("skl2onnx")
    pytest.importorskip("onnxruntime")
    assert _run("onnx_export") < 1e-5


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 3 epochs here, not the example's
def test_cnn_digits_example_on_fewer_epochs(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    cnn = _run("cnn_digits", max_iter=3, plot=str(tmp_path / "loss.png"))
    out = capsys.readouterr().out
    assert "epoch 3/3" in out and "total parameters" in out and cnn.n_iter_ == 3
    assert (tmp_path / "loss.png").stat().st_size > 1000


@pytest.mark.slow
def test_plugin_package_example_installs_and_is_found_by_name(tmp_path):
    import os
    import subprocess
    import sys

    target = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target"]
    subprocess.run([*install, str(target), str(EXAMPLES / "plugin_package")], check=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), *sys.path])}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "plugin_layer.py")], capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "check_module passed" in result.stdout and "GaussianNoise(sigma=0.2)" in result.stdout
    accuracy = float(result.stdout.split("3-fold accuracy with input noise: ")[1].split()[0])
    assert accuracy > 0.9


def _accuracies(out):
    return [float(line.split("test accuracy ")[1].split()[0]) for line in out.splitlines() if "test accuracy" in line]


@pytest.mark.filterwarnings("error")  # an example prints no warning
def test_demo_module_prints_accuracies_and_progress(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["python -m sknn_scratch"])  # the README's first command, no options
    runpy.run_module("sknn_scratch", run_name="__main__")
    out = capsys.readouterr().out
    accuracies = _accuracies(out)
    assert len(accuracies) == 2 and min(accuracies) > 0.9
    assert "ETA" in out  # progress while it trains


@pytest.mark.filterwarnings("error")  # an example prints no warning
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
@pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
def test_dask_grid_search_equals_the_local_one(capsys):
    pytest.importorskip("distributed")
    namespace = runpy.run_path(str(EXAMPLES / "dask_grid_search.py"))  # not as __main__: the functions only
    local, remote = namespace["main"](processes=False)
    np.testing.assert_array_equal(local.cv_results_["mean_test_score"], remote.cv_results_["mean_test_score"])
    assert local.best_params_ == remote.best_params_
    assert "equals the local one: True" in capsys.readouterr().out


@pytest.mark.filterwarnings("error")  # an example prints no warning
def test_tabular_dataframe_example(capsys):
    results = _run("tabular_dataframe", n_splits=2)
    assert set(results) == {"TabularNetRegressor", "HistGradientBoostingRegressor", "MLPRegressor (preprocessed)"}
    assert results["TabularNetRegressor"][0] > 0.35  # R^2 on the diabetes table with text, categories, NaN
    assert "missing values" in capsys.readouterr().out
