"""The first Python block of the "Tabular data" page runs as written, without a warning."""

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parent.parent / "docs" / "tabular.md"


@pytest.mark.filterwarnings("error")
def test_tabular_page_first_block_runs(capsys):
    block = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)[0]
    exec(compile(block, str(PAGE), "exec"), {})
    assert float(capsys.readouterr().out) > 0.4  # R^2 of the diabetes table
