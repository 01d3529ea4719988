"""Global sensitivity of calibration targets to model parameters: Sobol indices (SALib).

Which targets constrain which parameters? :func:`sobol_indices` varies chosen parameters
jointly, log-uniformly between ``1/spread`` and ``spread`` times their shipped values
(Saltelli sampling, ``SALib.sample.sobol``), simulates the same virtual patients (common
random numbers) for every parameter set in one vectorised state array, and computes
first-order and total Sobol indices (Sobol IM, Math Comput Simul 2001;55:271; Saltelli A
et al., Comput Phys Commun 2010;181:259; ``SALib.analyze.sobol``) of target-like
outputs of the seed-002 design (CLL-1 CAR-T, 1.0e6/kg):

* ``marrow_cr_d14``: share with marrow blasts < 5 % at day 14 (the marrow part of CR),
* ``crs_ge2``, ``crs_ge3``: share whose maximum daily CRS severity (days 0-28) is >= 2,
  >= 3 -- the severity the ASTCT engine reproduces exactly from the bedside signs
  (tested in ``tests/test_sim_physiology.py``),
* ``anc_lt_0_5``: share with an ANC nadir < 0.5 x10^9/L (grade 4 neutropenia),
* ``car_peak_day``: median day of the CAR peak.

Ranges: by default each parameter varies log-uniformly between ``1/spread`` and
``spread`` times its shipped value (the shipped values are the ABC-SMC posterior
medians); ``bounds`` replaces that range for chosen parameters, e.g. by their posterior
95 % intervals (:func:`posterior_bounds`), so the indices describe the parameter
uncertainty that is left after the fit.

A ``dummy`` parameter that the model never reads is included: its indices are the
estimator's noise floor (exactly 0 here, because the patients are the same for every
parameter set). Outputs are model truths, not engine-derived grades (the criteria
engines are not run on every parameter set; timings in docs/performance.md); the CRS one
is exact, the response one omits the blood-count and circulating-blast parts of ELN CR.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

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
            "car_kill_max": ("car_kill_max", "kill_max"),
            "car_resting_fraction": ("car_resting_fraction", "resting_fraction")}
OUTPUTS = ("marrow_cr_d14", "crs_ge2", "crs_ge3", "anc_lt_0_5", "car_peak_day")
#: parameters of the posterior run (``--posterior``): the fitted CAR-T block that acts on
#: seed 002 (the priming rate since the joint fit of seeds 000 + 002 + 004), plus the CRS
#: cut-point (not fitted; varied x[1/3, 3])
POSTERIOR_PARAMETERS = ("car_expansion", "car_kill_max", "car_exhaustion", "il6_car",
                        "antigen_density_cv", "car_resting_fraction",
                        "car_neg_kill_fraction", "car_memory_reactivation", "crs_cut3")


def _outputs(out: dict[str, np.ndarray], p: dict[str, np.ndarray], cov: dict,
             n_sets: int, m: int) -> np.ndarray:
    days = out["day"].astype(int)
    i14 = int(np.flatnonzero(days == 14)[0])
    post = days >= 0
    crs, _ = crs_icans_severity(out, days, cov, p, np.zeros(n_sets * m, bool))
    win = post & (days <= 28)
    car = np.where(post[:, None], out["car_cells_per_ul"], -np.inf)
    crs_max = crs[win].max(axis=0)
    res = np.stack([
        out["marrow_blasts_pct"][i14] < 5.0,
        crs_max >= 2,
        crs_max >= 3,
        out["anc"][post].min(axis=0) < 0.5,
        days[np.argmax(car, axis=0)].astype(float),
    ])  # (outputs, sets*m)
    res = res.reshape(len(OUTPUTS), n_sets, m)
    y = res[:-1].mean(axis=2)
    return np.vstack([y, np.median(res[-1], axis=1)]).T  # (sets, outputs)


def posterior_bounds(abc_json: str | Path, parameters: Sequence[str] | None = None
                     ) -> dict[str, tuple[float, float]]:
    """The weighted 95 % posterior interval of each fitted parameter, read from the
    JSON that ``python -m remission.sim.abc`` writes (``posterior``: low, median, high).

    Parameters
    ----------
    abc_json : str or Path
        The ``abc_fit.json`` of ``python -m remission.sim.abc``.
    parameters : sequence of str, optional
        Keep only these (those not in the posterior are left out); default all.

    Returns
    -------
    dict of str to (float, float)
        Parameter -> ``(low, high)`` of its weighted 95 % posterior interval.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    KeyError
        When the JSON has no ``posterior`` (or an entry lacks ``low``/``high``).

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "fit.json")
    >>> _ = open(f, "w").write('{"posterior": {"il6_car": {"low": 5.5, "high": 218.0}}}')
    >>> posterior_bounds(f)
    {'il6_car': (5.5, 218.0)}
    """
    post = json.loads(Path(abc_json).read_text())["posterior"]
    keys = list(post) if parameters is None else [k for k in parameters if k in post]
    return {k: (float(post[k]["low"]), float(post[k]["high"])) for k in keys}


def sobol_indices(parameters: Sequence[str] = DEFAULT_PARAMETERS, n_base: int = 64,
                  patients: int = 50, spread: float = 3.0, seed: int = 5,
                  arm: int = 1, bounds: Mapping[str, tuple[float, float]] | None = None
                  ) -> Result:
    """First-order and total Sobol indices of the seed-002 outputs (see module doc).

    ``n_base`` is Saltelli's N (``n_base * (D + 2)`` parameter sets, D = number of
    parameters + 1 dummy; a power of 2); each set is simulated for the same ``patients``
    virtual patients of arm ``arm`` (streams ``seed``). ``bounds`` (parameter values,
    low < shipped < high not required) replaces the ``x[1/spread, spread]`` range of
    the parameters it names. Returns a Result whose table has one row per (output,
    parameter) with S1, S1_conf, ST, ST_conf, and the range used (``low``, ``high``).

    Parameters
    ----------
    parameters : sequence of str
        Names of :data:`remission.sim.params.PARAMETERS` to vary (default
        :data:`DEFAULT_PARAMETERS`).
    n_base : int, default 64
        Saltelli's N, a power of 2.
    patients : int, default 50
        Virtual patients simulated for every parameter set.
    spread : float, default 3.0
        Default range: log-uniform over ``[value / spread, value * spread]``.
    seed : int, default 5
        Seed of the Saltelli sample and of the virtual patients.
    arm : int, default 1
        Arm index of the seed-002 design (1: 1.0e6/kg).
    bounds : Mapping, optional
        Parameter -> ``(low, high)`` values, ``0 < low < high``, replacing the default
        range (e.g. :func:`posterior_bounds`).

    Returns
    -------
    Result
        ``simulation.sobol``: one row per (output, parameter), outputs
        :data:`OUTPUTS`, with ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (bootstrap 95 %
        half-widths) and the range used (``low``, ``high``). An output that does not vary
        gets indices 0.

    Raises
    ------
    ValueError
        For an unknown parameter or bounds not satisfying ``0 < low < high``.

    References
    ----------
    Sobol IM. Math Comput Simul 2001;55:271-280; Saltelli A et al. Comput Phys Commun
    2010;181:259-270; Herman J, Usher W. J Open Source Softw 2017;2:97 (SALib).

    Examples
    --------
    One parameter and the dummy, 8 parameter sets x 2 patients; the dummy (never read by
    the model) has indices of exactly 0, and the default range is the shipped 1.03/day
    divided and multiplied by 3:

    >>> r = sobol_indices(("car_expansion",), n_base=2, patients=2)
    >>> t = r.table
    >>> len(t), bool((t.loc[t["parameter"] == "dummy", ["S1", "ST"]] == 0).all().all())
    (10, True)
    >>> [round(float(t.loc["crs_ge2 | car_expansion", c]), 4) for c in ("low", "high")]
    [0.3433, 3.09]
    >>> sobol_indices(("car_expansion",), bounds={"car_expansion": (2.0, 1.0)})
    Traceback (most recent call last):
    ValueError: bounds of 'car_expansion' must satisfy 0 < low < high, got 2.0, 1.0
    """
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    names = [*parameters, "dummy"]
    bounds = dict(bounds or {})
    for k in [*parameters, *bounds]:
        if k not in PARAMETERS:
            raise ValueError(f"unknown parameter {k!r}")
    for k, (lo, hi) in bounds.items():
        if not 0 < lo < hi:
            raise ValueError(f"bounds of {k!r} must satisfy 0 < low < high, got {lo}, {hi}")
    # log factors relative to the shipped value
    logb = [[float(np.log(bounds[k][0] / PARAMETERS[k].value)),
             float(np.log(bounds[k][1] / PARAMETERS[k].value))] if k in bounds
            else [-float(np.log(spread)), float(np.log(spread))] for k in names]
    problem = {"num_vars": len(names), "names": names, "bounds": logb}
    x = sobol_sample.sample(problem, n_base, calc_second_order=False, seed=seed)
    factors = np.exp(x)  # (sets, D)
    n_sets = len(factors)
    d = load_design(DESIGN)
    a = d.arms[arm]
    cov, p = build_patients(seed, np.arange(patients), {**d.population, **a.population},
                            typical({**d.parameters, **a.parameters}), a.product, d.antigen,
                            d.eligibility, donor_derived=a.donor_derived)
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
            v0 = PARAMETERS[pname].value if pname in PARAMETERS else 1.0
            rows.append({"output": name, "parameter": pname, "S1": float(si["S1"][j]),
                         "S1_conf": float(si["S1_conf"][j]), "ST": float(si["ST"][j]),
                         "ST_conf": float(si["ST_conf"][j]),
                         "low": v0 * float(np.exp(logb[j][0])),
                         "high": v0 * float(np.exp(logb[j][1]))})
    table = pd.DataFrame(rows)
    table.index = pd.Index([f"{r.output} | {r.parameter}" for r in table.itertuples()])
    return Result(
        name="simulation.sobol",
        title="Which targets constrain which parameters (Sobol indices)",
        table=table,
        method=(f"Saltelli sampling (SALib) of {len(parameters)} parameters + 1 dummy, "
                f"log-uniform x[1/{spread:g}, {spread:g}] around the shipped (posterior "
                "median) values"
                + (f", {', '.join(sorted(bounds))} log-uniform over the given bounds "
                   "(posterior 95 % intervals)" if bounds else "") + ", "
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
                "parameter_sets": n_sets, "bounds": {k: list(v) for k, v in bounds.items()}},
        section="simulation")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m remission.sim.sensitivity [N] [patients] [--posterior ABC_JSON]
    [--out CSV]``: the Sobol table; with ``--posterior`` the fitted parameters of
    :data:`POSTERIOR_PARAMETERS` vary over their posterior 95 % intervals; ``--out``
    writes the long table (a ``#`` header line with the date, command and method).

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``): ``N`` (Saltelli's N, default
        64), ``patients`` (default 50), ``--posterior ABC_JSON``, ``--out CSV``.

    Returns
    -------
    int
        0. The method and a parameter x output table of ST are printed; ``--out`` writes
        the long table atomically.

    Raises
    ------
    SystemExit
        On a command-line error (argparse, status 2).

    Examples
    --------
    >>> import contextlib, io, os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "sobol.csv")
    >>> with contextlib.redirect_stdout(io.StringIO()):
    ...     code = main(["2", "2", "--out", out])
    >>> code, open(out).readline().startswith("# "), len(pd.read_csv(out, comment="#"))
    (0, True, 35)
    """
    import argparse
    import datetime as dt
    import io
    import sys

    from ..io.atomic import write_text

    ap = argparse.ArgumentParser(prog="python -m remission.sim.sensitivity")
    ap.add_argument("n", nargs="?", type=int, default=64)
    ap.add_argument("patients", nargs="?", type=int, default=50)
    ap.add_argument("--posterior", help="abc_fit.json of python -m remission.sim.abc")
    ap.add_argument("--out", help="CSV file to write")
    a = ap.parse_args(argv)
    if a.posterior:
        names = POSTERIOR_PARAMETERS
        r = sobol_indices(names, n_base=a.n, patients=a.patients,
                          bounds=posterior_bounds(a.posterior, names))
    else:
        r = sobol_indices(n_base=a.n, patients=a.patients)
    print(r.method)
    print(r.table.pivot(index="parameter", columns="output", values="ST").round(3)
          .to_string())
    if a.out:
        args = " ".join(sys.argv[1:] if argv is None else argv)
        buf = io.StringIO()
        buf.write(f"# {dt.date.today().isoformat()}: python -m remission.sim.sensitivity "
                  f"{args}\n# {r.method}\n")
        r.table.to_csv(buf, index=False, lineterminator="\n")
        write_text(a.out, buf.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
