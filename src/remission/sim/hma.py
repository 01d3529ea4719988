"""Hypomethylating-agent calibration targets and the check that can fail.

The HMA model (:func:`remission.sim.model.hma_pulse`, parameters ``hma_kill`` and
``hma_myelo_kill``) has one calibration target, the composite complete remission
(CR + CRi; under ELN 2022 the CR, CRh and CRi families) of azacitidine alone, and one
check that the same parameters reproduce the azacitidine + venetoclax arm of a
VIALE-A-like design (``tests/data/sim/viale_a_like.toml``, whose venetoclax kill is set
for that population, see the file). :func:`check_targets` compares simulated rates with
the exact (Clopper-Pearson) 95 % intervals of the published counts; it fails when the
HMA effect is scaled by 0.3 or 3 (tests/test_sim_hma.py).

Published counts (composite CR, best response during treatment):

* VIALE-A, DiNardo CD et al. N Engl J Med 2020;383:617-29: azacitidine + venetoclax
  190/286 (66.4 %), azacitidine + placebo 41/145 (28.3 %); median time to first
  response 1.3 vs 2.8 months.
* AML-001, Dombret H et al. Blood 2015;126:291-9: azacitidine 67/241 (27.8 %) in AML
  with > 30 % blasts, age >= 65 (agrees with the VIALE-A control arm; not a second fit).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pandas as pd
from scipy.stats import binomtest

from .design import Design
from .trial import response_lists, run_trial

#: arm name in the VIALE-A-like design -> (responders, patients, source)
VIALE_A_TARGETS: Mapping[str, tuple[int, int, str]] = {
    "aza": (41, 145, "VIALE-A azacitidine + placebo, DiNardo NEJM 2020;383:617"),
    "aza+ven": (190, 286, "VIALE-A azacitidine + venetoclax, DiNardo NEJM 2020;383:617"),
}


def composite_cr_rates(patients: pd.DataFrame) -> pd.DataFrame:
    """Per arm: patients, composite CR (CR/CRh/CRi, any MRD) as best response, its rate.

    Parameters
    ----------
    patients : pandas.DataFrame
        Simulated patients (``arm``, ``best_response`` as derived by the ELN 2022 engine).

    Returns
    -------
    pandas.DataFrame
        Index ``arm``; columns ``n``, ``responders`` and ``rate``.

    Examples
    --------
    >>> pts = pd.DataFrame({"arm": ["a", "a", "b"], "best_response": ["CRi", "MLFS", "NR"]})
    >>> composite_cr_rates(pts)["rate"].tolist()
    [0.5, 0.0]
    """
    cr = patients["best_response"].isin(response_lists("eln2022")["complete"])
    g = cr.groupby(patients["arm"])
    return pd.DataFrame({"n": g.size(), "responders": g.sum().astype(int),
                         "rate": g.mean()})


def check_targets(design: Design, n: int, seed: int, hma_scale: float = 1.0,
                  arms: tuple[str, ...] | None = None,
                  targets: Mapping[str, tuple[int, int, str]] = VIALE_A_TARGETS
                  ) -> pd.DataFrame:
    """Simulate ``design`` and compare each target arm's composite CR with the exact 95 %
    interval of its published count.

    Parameters
    ----------
    design : Design
        A design whose arm names are keys of ``targets`` (the VIALE-A-like design).
    n : int
        Patients per arm.
    seed : int
        The trial's seed.
    hma_scale : float, default 1.0
        Multiplies ``hma_kill`` (the HMA effect); 0.3 and 3 must fail the check.
    arms : tuple of str, optional
        Only these arms (default: every arm of the design).
    targets : Mapping
        Arm -> (responders, patients, source).

    Returns
    -------
    pandas.DataFrame
        One row per simulated arm: ``n``, ``responders``, ``rate``, and for target arms
        ``target``, ``lo``, ``hi`` (Clopper-Pearson 95 %) and ``inside``.

    Examples
    --------
    The exact interval of 41/145 (VIALE-A control arm):

    >>> ci = binomtest(41, 145).proportion_ci(0.95, "exact")
    >>> round(ci.low, 4), round(ci.high, 4)
    (0.2112, 0.3635)
    """
    from .params import PARAMETERS

    kill = {**{"hma_kill": PARAMETERS["hma_kill"].value}, **design.parameters}["hma_kill"]
    d = dataclasses.replace(
        design, parameters={**design.parameters, "hma_kill": kill * hma_scale},
        arms=tuple(a for a in design.arms if arms is None or a.name in arms))
    out = composite_cr_rates(run_trial(d, n=n, seed=seed, workers=0,
                                       observations=False).patients)
    for arm, (k, m, _src) in targets.items():
        if arm in out.index:
            ci = binomtest(k, m).proportion_ci(0.95, "exact")
            out.loc[arm, ["target", "lo", "hi"]] = [k / m, ci.low, ci.high]
    if "lo" in out:
        inside = (out["rate"] >= out["lo"]) & (out["rate"] <= out["hi"])
        out["inside"] = inside.astype(object).where(out["lo"].notna(), None)
    return out
