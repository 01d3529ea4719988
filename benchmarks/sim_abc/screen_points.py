"""Point values of the joint ABC fit on unseen random streams (docs/simulation.md).

Three candidate point values of ``benchmarks/sim_abc/abc_fit_joint.json`` -- the
weighted posterior medians (how ``params.py`` has always been filled), the particle of
highest posterior density (the weighted kernel density of pyabc's
``MultivariateNormalTransition`` on the fitting scale, evaluated at every particle) and
the weighted posterior mean on the fitting scale -- are put through the predictive check
(``remission.sim.calibrate.predictive_check``) on random stream 5, which neither the fit
(101, 7) nor the committed check summaries (2) use: 60 virtual trials of seeds 002 and
004 and 40 of seed 000 per candidate. A candidate worth shipping must pass all three;
the committed check on stream 2 then judges it.

Run (about 2 min niced on a loaded 2-core machine):
    PYTHONPATH=src nice -n 10 python benchmarks/sim_abc/screen_points.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from remission.sim.abc import PRIORS
from remission.sim.calibrate import predictive_check

FIT = Path(__file__).with_name("abc_fit_joint.json")
STREAM = 5


def candidates(fit: dict) -> dict[str, dict[str, float]]:
    """Posterior medians, highest-density particle and weighted mean (fitting scale)."""
    import pyabc

    parts = pd.DataFrame(fit["particles"])
    w = parts.pop("weight").to_numpy(float)
    parts = parts.drop(columns="distance")
    w = w / w.sum()
    fs = parts.copy()
    for k in parts.columns:
        if PRIORS[k][2] == "log":
            fs[k] = np.log(parts[k])
    tr = pyabc.MultivariateNormalTransition()
    tr.fit(fs, w)
    i_map = int(np.argmax(np.asarray(tr.pdf(fs), float)))
    mean_fs = fs.mul(w, axis=0).sum()
    return {
        "posterior medians": {k: float(v["median"]) for k, v in fit["posterior"].items()},
        "highest-density particle": {k: float(v) for k, v in parts.iloc[i_map].items()},
        "weighted mean": {k: float(np.exp(mean_fs[k]) if PRIORS[k][2] == "log"
                                   else mean_fs[k]) for k in parts.columns},
    }


def main() -> int:
    fit = json.loads(FIT.read_text())
    for name, over in candidates(fit).items():
        print(name, {k: round(v, 4) for k, v in over.items()}, flush=True)
        for studies, reps in ((("002",), 60), (("000",), 40), (("004",), 60)):
            r = predictive_check(studies, reps, seed=STREAM, overrides=over)
            z = r.table["z"]
            worst = z.abs().idxmax()
            print(f"  seed {studies[0]}: D {r.statistic:.1f}, p {r.p_value:.3f} "
                  f"({'pass' if r.passed else 'fail'}), largest |z| {worst} "
                  f"({z[worst]:+.2f}); model means "
                  + ", ".join(f"{k} {v:.3f}" for k, v in r.table["model_mean"].items()),
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
