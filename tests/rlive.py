"""Run R live as the statistical oracle of the test suite.

``run_r(code, **data)`` writes each DataFrame/array in ``data`` to CSV, makes it
available in R under the same name, runs ``code`` with Rscript and returns what the
R code assigned to ``out`` (a named list of numbers/vectors/strings), serialised
with full precision (``format(digits = 17)``) and parsed back into Python.

If Rscript is missing the tests fail loudly: `make test` installs R from Debian.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

_SERIALISER = r"""
.to_json <- function(x) {
  num <- function(v) ifelse(is.na(v), "null",
           ifelse(is.infinite(v), ifelse(v > 0, "1e308", "-1e308"), format(v, digits = 17)))
  enc <- function(v) {
    if (is.list(v)) {
      nm <- names(v)
      if (is.null(nm)) return(paste0("[", paste(vapply(v, enc, ""), collapse = ","), "]"))
      return(paste0("{", paste0('"', nm, '":', vapply(v, enc, ""), collapse = ","), "}"))
    }
    if (is.factor(v)) v <- as.character(v)
    if (is.logical(v)) v <- ifelse(is.na(v), "null", ifelse(v, "true", "false"))
    else if (is.numeric(v)) v <- num(as.numeric(v))
    else v <- ifelse(is.na(v), "null", paste0('"', gsub('"', '\\\\"', v), '"'))
    if (length(v) == 1) v else paste0("[", paste(v, collapse = ","), "]")
  }
  enc(x)
}
"""


def rscript_available() -> bool:
    return shutil.which("Rscript") is not None


def run_r(code: str, **data: Any) -> dict[str, Any]:
    """Run ``code`` in R; returns the list ``out`` it defines."""
    if not rscript_available():
        raise RuntimeError("Rscript not found: run `make test`, which installs R from Debian")
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        loads = []
        for name, obj in data.items():
            frame = obj if isinstance(obj, pd.DataFrame) else pd.DataFrame({"x": np.asarray(obj)})
            path = tmpd / f"{name}.csv"
            frame.to_csv(path, index=False, float_format="%.17g")
            if isinstance(obj, pd.DataFrame):
                loads.append(f'{name} <- read.csv("{path}", stringsAsFactors = FALSE)')
            else:
                loads.append(f'{name} <- read.csv("{path}")$x')
        script = "\n".join(
            [
                "suppressPackageStartupMessages({library(stats)})",
                _SERIALISER,
                *loads,
                code,
                'cat("@@JSON@@", .to_json(out), "\\n", sep = "")',
            ]
        )
        (tmpd / "script.R").write_text(script)
        proc = subprocess.run(
            ["Rscript", "--vanilla", str(tmpd / "script.R")],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"R failed:\n{proc.stderr}\n--- script ---\n{script}")
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("@@JSON@@")][-1]
        return json.loads(line[len("@@JSON@@") :])
