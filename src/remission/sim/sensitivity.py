"""Global sensitivity of calibration targets to model parameters: Sobol indices (SALib).

Which targets constrain which parameters? :func:`sobol_indices` varies chosen parameters
jointly, log-uniformly between ``1/spread`` and ``spread`` times their shipped values
(Saltelli sampling, ``SALib.sample.sobol``), simulates the same virtual patients (common
random numbers) for every parameter set in one vectorised state array, and computes
first-order and total Sobol indices (Sobol IM, Math Comput Simul 2001;55:271; Saltelli A
et al., Comput Phys Commun 2010;181:259; ``SALib.analyze.sobol``) of target-like
outputs of the seed-002 design (CLL-1 CAR-T, 1.0e6/kg):

* ``marrow_cr_d14``: share with marrow blasts < 5 % at day 14 (the marrow part of CR),
* ``crs_ge3``: share whose maximum daily CRS severity (days 0-28) is >= 3 -- the
  severity the ASTCT engine reproduces exactly from the bedside signs (tested in
  ``tests/test_sim_physiology.py``),
* ``anc_lt_0_5``: share with an ANC nadir < 0.5 x10^9/L (grade 4 neutropenia),
* ``car_peak_day``: median day of the CAR peak.

A ``dummy`` parameter that the model never reads is included: its indices are the
estimator's noise floor (exactly 0 here, because the patients are the same for every
parameter set). Outputs are model truths, not engine-derived grades (the engines would
make every evaluation ~10x slower); the CRS one is exact, the response one omits the
blood-count and circulating-blast parts of ELN CR.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..results import Result
from .bedside import crs_icans_severity
from .design import DESIGN_DIR, load_design
from .params import PARAMETERS, typical
from .population import build_patients
from .solver import simulate

DESIGN = DESIGN_DIR / "seed002_cll1_cart_dose_groups.toml"
DEFAULT_PARAMETERS = ("car_expansion", "car_kill_max", "car_exhaustion", "il6_car",
                      "antigen_density_cv", "crs_cut3")
#: per-patient keys that a parameter feeds (build_patients copies some under a new name)
_ALIASES = {"car_expansion": ("car_expansion", "expansion"),
            "car_kill_max": ("car_kill_max", "kill_max")}
OUTPUTS = ("marrow_cr_d14", "crs_ge3", "anc_lt_0_5", "car_peak_day")


def _outputs(out: dict[str, np.ndarray], p: dict[str, np.ndarray], cov: dict,
             n_sets: int, m: int) -> np.ndarray:
    days = out["day"].astype(int)
    i14 = int(np.flatnonzero(days == 14)[0])
    post = days >= 0
    crs, _ = crs_icans_severity(out, days, cov, p, np.zeros(n_sets * m, bool))
    win = post & (days <= 28)
    car = np.where(post[:, None], out["car_cells_per_ul"], -np.inf)
    res = np.stack([
        out["marrow_blasts_pct"][i14] < 5.0,
        crs[win].max(axis=0) >= 3,
        out["anc"][post].min(axis=0) < 0.5,
        days[np.argmax(car, axis=0)].astype(float),
    ])  # (outputs, sets*m)
    res = res.reshape(len(OUTPUTS), n_sets, m)
    y = res[:3].mean(axis=2)
    return np.vstack([y, np.median(res[3], axis=1)]).T  # (sets, outputs)


def sobol_indices(parameters: Sequence[str] = DEFAULT_PARAMETERS, n_base: int = 64,
                  patients: int = 50, spread: float = 3.0, seed: int = 5,
                  arm: int = 1) -> Result:
    """First-order and total Sobol indices of the seed-002 outputs (see module doc).

    ``n_base`` is Saltelli's N (``n_base * (D + 2)`` parameter sets, D = number of
    parameters + 1 dummy; a power of 2); each set is simulated for the same ``patients``
    virtual patients of arm ``arm`` (streams ``seed``). Returns a Result whose table has
    one row per (output, parameter) with S1, S1_conf, ST, ST_conf.
    """
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    names = [*parameters, "dummy"]
    for k in parameters:
        if k not in PARAMETERS:
            raise ValueError(f"unknown parameter {k!r}")
    problem = {"num_vars": len(names), "names": names,
               "bounds": [[-np.log(spread), np.log(spread)]] * len(names)}
    x = sobol_sample.sample(problem, n_base, calc_second_order=False, seed=seed)
    factors = np.exp(x)  # (sets, D)
    n_sets = len(factors)
    d = load_design(DESIGN)
    a = d.arms[arm]
    cov, p = build_patients(seed, np.arange(patients), {**d.population, **a.population},
                            typical({**d.parameters, **a.parameters}), a.product, d.antigen,
                            d.eligibility)
    big = {k: np.tile(v, n_sets) for k, v in p.items()}
    bigcov = {k: np.tile(v, n_sets) for k, v in cov.items()}
    f = np.repeat(factors, patients, axis=0)  # (sets*m, D)
    for j, k in enumerate(parameters):
        if k == "antigen_density_cv":  # density = exp(omega z): rescale omega
            cv0 = PARAMETERS[k].value
            w0 = np.sqrt(np.log1p(cv0**2))
            w1 = np.sqrt(np.log1p((cv0 * f[:, j]) ** 2))
            big["antigen_density"] = big["antigen_density"] ** (w1 / w0)
            continue
        for key in _ALIASES.get(k, (k,)):
            big[key] = big[key] * f[:, j]
    out = simulate(big, a.schedule)
    y = _outputs(out, big, bigcov, n_sets, patients)
    rows = []
    for o, name in enumerate(OUTPUTS):
        yo = y[:, o]
        if np.var(yo) == 0:
            si = {"S1": np.zeros(len(names)), "S1_conf": np.zeros(len(names)),
                  "ST": np.zeros(len(names)), "ST_conf": np.zeros(len(names))}
        else:
            si = sobol_analyze.analyze(problem, yo, calc_second_order=False, seed=seed)
        for j, pname in enumerate(names):
            rows.append({"output": name, "parameter": pname, "S1": float(si["S1"][j]),
                         "S1_conf": float(si["S1_conf"][j]), "ST": float(si["ST"][j]),
                         "ST_conf": float(si["ST_conf"][j])})
    table = pd.DataFrame(rows)
    table.index = pd.Index([f"{r.output} | {r.parameter}" for r in table.itertuples()])
    return Result(
        name="simulation.sobol",
        title="Which targets constrain which parameters (Sobol indices)",
        table=table,
        method=(f"Saltelli sampling (SALib) of {len(parameters)} parameters + 1 dummy, "
                f"log-uniform x[1/{spread:g}, {spread:g}] around the shipped values, "
                f"N = {n_base} ({n_sets} parameter sets) x {patients} common virtual "
                "patients of the seed-002 design; first-order (S1) and total (ST) indices "
                "with bootstrap 95 % half-widths (SALib.analyze.sobol)."),
        rationale=("A target constrains a parameter only if the parameter moves it: ST near "
                   "0 means the target says nothing about that parameter."),
        warnings=("SIMULATED: model outputs.",),
        references=("Sobol IM. Math Comput Simul 2001;55:271-280",
                    "Saltelli A et al. Comput Phys Commun 2010;181:259-270",
                    "Herman J, Usher W. J Open Source Softw 2017;2:97 (SALib)"),
        params={"n_base": n_base, "patients": patients, "spread": spread, "seed": seed,
                "parameter_sets": n_sets},
        section="simulation")


if __name__ == "__main__":  # python -m remission.sim.sensitivity [N] [patients]
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    m = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    r = sobol_indices(n_base=n, patients=m)
    t = r.table
    print(r.method)
    print(t.pivot(index="parameter", columns="output", values="ST").round(3).to_string())
