"""docs/architecture.md traces a fit through the code with ``file:line`` references:
each must point at the definition it names."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
REFERENCE = re.compile(r"`((?:[\w]+/)*[\w]+\.py):(\d+)` \(`(\w+)`")


def test_every_traced_line_defines_what_the_text_names():
    text = (ROOT / "docs" / "architecture.md").read_text()
    references = REFERENCE.findall(text)
    assert len(references) >= 15  # the traced fit names its steps
    stale = []
    for path, line, name in references:
        lines = (ROOT / "sknn_scratch" / path).read_text().splitlines()
        found = [i + 1 for i, text in enumerate(lines) if re.match(rf"\s*(def|class) {name}\b", text)]
        if int(line) not in found:
            stale.append(f"{path}:{line} ({name}) is now at {found}")
    assert not stale, "update docs/architecture.md: " + "; ".join(stale)
