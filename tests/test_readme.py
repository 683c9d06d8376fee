"""Every Python block of the README runs as written."""

import re
from pathlib import Path

import pytest

from sknn_scratch.registry import LAYERS

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.filterwarnings("error")  # a README block prints no warning
def test_readme_blocks_after_the_first_run_in_order(capsys):
    namespace = {}
    try:
        for block in BLOCKS[1:]:
            exec(compile(block, str(README), "exec"), namespace)
    finally:
        if "scale_by_two" in LAYERS._items:
            LAYERS.unregister("scale_by_two")
    out = capsys.readouterr().out
    assert "NumpyNetClassifier" in out and "training accuracy" in out


@pytest.mark.slow
@pytest.mark.filterwarnings("error")
def test_readme_first_block_runs(capsys):
    exec(compile(BLOCKS[0], str(README), "exec"), {})
    scores = [float(line) for line in capsys.readouterr().out.split()]
    assert len(scores) == 2 and min(scores) > 0.9
