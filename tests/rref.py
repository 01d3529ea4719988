"""R reference values committed with the R code that made them.

Each oracle lives in ``tests/rref/<name>.R`` (it defines the list ``out``, data
included, so Python needs nothing else) and its output in ``tests/rref/<name>.json``.
Tests compare with the committed JSON on every run, so a machine without R still
checks the numbers; tests marked ``r`` rerun the R code live and also check that R
still gives the committed values. Regenerate with
``python -m tests.rref NAME [NAME ...]`` (needs Rscript).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tests.rlive import run_r

REF_DIR = Path(__file__).parent / "rref"


def r_code(name: str) -> str:
    return (REF_DIR / f"{name}.R").read_text()


def committed(name: str) -> dict[str, Any]:
    """The committed output of ``tests/rref/<name>.R``."""
    return json.loads((REF_DIR / f"{name}.json").read_text())


def live(name: str) -> dict[str, Any]:
    """Run ``tests/rref/<name>.R`` in R now."""
    return run_r(r_code(name))


def regenerate(name: str) -> None:
    out = live(name)
    (REF_DIR / f"{name}.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    for nm in sys.argv[1:]:
        regenerate(nm)
        print(f"wrote {REF_DIR / (nm + '.json')}")
