"""The first commands a user types. ``python -m sknn_scratch``: a bad argument is an
argparse error (exit code 2, a message that names the argument) before any training, never
a traceback. The getting-started page installs from the source, with extras that exist."""

import configparser
import importlib
import re
import sys
from pathlib import Path

import pytest


@pytest.fixture
def main():
    """The demo's ``main``, imported for the test only: ``runpy`` (``python -m``) warns
    when the module it runs was imported before."""
    yield importlib.import_module("sknn_scratch.__main__").main
    sys.modules.pop("sknn_scratch.__main__", None)


@pytest.mark.parametrize(
    "argv, named, says",
    [
        (["--epochs", "0"], "--epochs", "an integer >= 1, got 0"),
        (["--epochs", "-3"], "--epochs", "an integer >= 1, got -3"),
        (["--epochs", "1.5"], "--epochs", "expected an integer, got '1.5'"),
        (["--epochs", "many"], "--epochs", "expected an integer, got 'many'"),
        (["--epochs"], "--epochs", "expected one argument"),
        (["--seed", "-1"], "--seed", "in [0, 4294967295], got -1"),
        (["--seed", str(2**32)], "--seed", "got 4294967296"),
        (["--dataset", "mnist"], "--dataset", "invalid choice: 'mnist'"),
        (["--model", "rnn"], "--model", "invalid choice: 'rnn'"),
        (["--dataset", "iris", "--model", "cnn"], "--model cnn", "needs --dataset digits"),
        (["--dataset", "wine", "--model", "engine"], "--model engine", "needs --dataset digits"),
        (["--plot", "no/such/directory/curves.png"], "--plot", "does not exist"),
        (["--plot", "."], "--plot", "is a directory"),
        (["--plot", "curves.xyz"], "--plot", "cannot write '.xyz' files; use one of: "),
        (["--epoks", "3"], "--epoks", "unrecognized arguments"),
    ],
)
def test_a_bad_argument_is_a_usage_error_naming_it(main, argv, named, says, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    assert exit_info.value.code == 2 and captured.out == ""
    assert captured.err.startswith("usage: python -m sknn_scratch") and named in captured.err and says in captured.err
    assert "Traceback" not in captured.err


def test_plot_without_matplotlib_is_a_usage_error(main, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib.backend_bases", None)
    with pytest.raises(SystemExit) as exit_info:
        main(["--plot", "curves.png"])
    assert exit_info.value.code == 2 and "--plot: needs matplotlib" in capsys.readouterr().err


@pytest.mark.filterwarnings("error")
def test_the_smallest_valid_values_run(main, capsys, tmp_path):
    main(["--dataset", "iris", "--model", "mlp", "--epochs", "1", "--seed", "0", "--quiet"])
    out = capsys.readouterr().out  # a training cut short by --epochs is said in a line, not a warning
    assert "--epochs 1 ended the training before it converged" in out and "(1 epochs" in out
    pytest.importorskip("matplotlib")
    argv = ["--dataset", "iris", "--model", "mlp", "--epochs", "2", "--seed", str(2**32 - 1), "--quiet"]
    main([*argv, "--plot", str(tmp_path / "c")])
    assert (tmp_path / "c.png").exists()  # no suffix: matplotlib's default format


def test_the_engine_loop_takes_at_most_epochs(main, capsys):
    main(["--model", "engine", "--epochs", "2"])
    assert capsys.readouterr().out.startswith("engine CNN, 2 epochs: test accuracy")


ROOT = Path(__file__).resolve().parent.parent


def test_the_getting_started_page_installs_from_the_source_with_extras_that_exist():
    page = (ROOT / "docs" / "getting_started.md").read_text()
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    extras = set(setup["options.extras_require"])
    targets = re.findall(r"pip install (?:-e )?(\S+)", page)
    assert len(targets) >= 5 and "." in targets
    for target in targets:  # the repository's root, not a name looked up on a package index
        match = re.fullmatch(r'(?:\.|"\.\[([a-z,]+)\]")`?\.?', target)  # then maybe a closing ` and a full stop
        assert match, target
        assert set((match.group(1) or "").split(",")) - {""} <= extras, target
    assert {"plot", "onnx", "docs", "test"} <= set(re.findall(r'"\.\[(\w+)\]"', page))
    assert setup["metadata"]["author"] == "sknn_scratch developers"
