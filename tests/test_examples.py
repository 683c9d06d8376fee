"""The example scripts run as a user would run them."""

import runpy
from pathlib import Path

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


def test_demo_module_prints_accuracies(capsys):
    runpy.run_module("sknn_scratch", run_name="__main__")
    out = capsys.readouterr().out
    accuracies = [
        float(line.split("test accuracy ")[1].split()[0]) for line in out.splitlines() if "test accuracy" in line
    ]
    assert len(accuracies) == 2 and min(accuracies) > 0.9
