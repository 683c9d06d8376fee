"""The Python blocks of the documentation pages run as written, without a warning."""

import re
import textwrap
from pathlib import Path

import pytest
import sklearn

PAGE = Path(__file__).resolve().parent.parent / "docs" / "tabular.md"


@pytest.mark.filterwarnings("error")
def test_tabular_page_first_block_runs(capsys):
    block = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)[0]
    exec(compile(block, str(PAGE), "exec"), {})
    assert float(capsys.readouterr().out) > 0.4  # R^2 of the diabetes table


def _blocks(page):
    text = (PAGE.parent / page).read_text()
    return [textwrap.dedent(block) for block in re.findall(r"^ *```python\n(.*?)^ *```", text, flags=re.S | re.M)]


@pytest.mark.parametrize(
    "page, shows",
    [
        pytest.param("getting_started.md", "0.9", marks=pytest.mark.slow),
        pytest.param("cnn.md", "total parameters", marks=pytest.mark.slow),
        ("engine.md", "(2, 8)"),
        pytest.param("callbacks.md", "0.9", marks=pytest.mark.slow),
        ("persistence.md", "NumpyNetClassifier"),
        pytest.param("scaling.md", "'max_iter'", marks=pytest.mark.slow),  # the cluster block runs as a script only
    ],
)
@pytest.mark.filterwarnings("error")  # a block a reader copies prints no warning
def test_the_python_blocks_of_a_page_run_in_order(page, shows, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # where a block's files go (a checkpoint)
    namespace = {}
    with sklearn.config_context():  # a block's set_config stays in the test
        for block in _blocks(page):
            exec(compile(block, page, "exec"), namespace)
    assert shows in capsys.readouterr().out
