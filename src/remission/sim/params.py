"""Model parameters: typical values, units, inter-individual variability and sources.

Every free number of the mechanistic model lives in :data:`PARAMETERS` with its unit,
its log-normal inter-individual variability (coefficient of variation; 0 = fixed) and
where it comes from. Sources are abbreviated; full references are in
``docs/simulation.md`` and the design notes on mechanistic models (models.md). Values marked
``assumption`` or ``calibrated`` are ours, not published: they are the knobs
:mod:`remission.sim.calibrate` fits to the seed studies, and the docs say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Param:
    """One model parameter (typical value, unit, log-normal IIV as CV, source)."""

    value: float
    unit: str
    cv: float
    source: str


_P = Param

#: name -> Param. Rates are per day unless the unit says otherwise.
PARAMETERS = MappingProxyType(
    {
        # --- leukaemia ------------------------------------------------------------------
        "leuk_growth": _P(0.05, "1/day", 0.5,
                          "assumption; order of CARTmath HDLM-2 r=0.0565/d (Barros 2021)"),
        "switch_pos_to_neg": _P(2e-3, "1/day", 0.0, "assumption (antigen loss, models.md §5)"),
        "switch_neg_to_pos": _P(2e-3, "1/day", 0.0, "assumption (antigen gain, models.md §5)"),
        "marrow_capacity_cells": _P(1e12, "cells", 0.0,
                                    "assumption; below one cell a clone is extinct"),
        "pb_blast_max_pct": _P(90.0, "%", 0.0, "assumption (peripheral egress curve)"),
        "pb_blast_half_pct": _P(40.0, "% marrow blasts", 0.0, "assumption"),
        "pb_blast_hill": _P(3.0, "-", 0.0,
                           "assumption; circulating blasts rare below ~5 % marrow blasts"),
        # --- venetoclax PK: Dave 2019 CTS 12:625 typical, IIV Zhao 2024 DDDT 18:1771 ----------
        "ven_ka": _P(3.83, "1/day", 0.0, "Dave 2019 (nlmixr2lib Dave_2019_venetoclax)"),
        "ven_cl": _P(449.0, "L/day", 0.395, "Dave 2019; IIV 39.5% Zhao 2024"),
        "ven_v2": _P(99.0, "L", 0.467, "Dave 2019; IIV 46.7% Zhao 2024"),
        "ven_q": _P(130.0, "L/day", 0.0, "Dave 2019"),
        "ven_v3": _P(147.0, "L", 0.0, "Dave 2019"),
        "ven_dose_exponent": _P(-0.178, "-", 0.0, "Dave 2019: F x (DOSE/400)^-0.178"),
        "ven_rel_f": _P(1.0, "-", 0.0, "Dave 2019 low-fat meal reference (label AUC ~1.5x)"),
        # --- venetoclax PD (no published AML blast-kill model: models.md §2.2 surrogate) -------
        "ven_kill_max": _P(0.30, "1/day", 0.3, "calibrated; Emax surrogate, models.md §2.2"),
        "ven_ic50_pos": _P(1.0, "mg/L", 0.5, "assumption; antigen-positive (MCL-1-high) clone"),
        "ven_sensitivity_ratio": _P(4.0, "-", 0.0,
                                    "knob: IC50(pos)/IC50(neg); seed 000 knock-down lowers IC50"),
        "ven_tolerance": _P(3.0, "-", 0.0,
                            "calibrated (hand grid 2-3.25 on seed-0 streams, 300 per arm) to "
                            "composite CR of azacitidine + venetoclax, 190/286 = 66.4 % "
                            "(VIALE-A, DiNardo NEJM 2020;383:617): the blast IC50 rises as "
                            "A^g (venetoclax-induced CLL-1 up-regulation comes with MCL-1: "
                            "seed 000 knock-down; adaptive MCL-1 resistance, Lin 2016 Sci "
                            "Rep 6:27696), so a 7-day lead-in keeps most of its kill and "
                            "continuous dosing loses it"),
        "antigen_up_rate": _P(0.05, "1/day", 0.0,
                              "assumption; seed 000 in vitro CLL1 rises with VEN dose"),
        "antigen_up_ec50": _P(0.5, "mg/L", 0.0, "assumption"),
        "antigen_decay": _P(0.005, "1/day", 0.0,
                            "assumption; seed 000: expression stays after withdrawal"),
        "antigen_switch_gain": _P(5.0, "-", 0.0,
                                  "assumption; neg->pos switching x(1+gain*(A-1))"),
        "ven_myelo_slope": _P(0.05, "L/mg/day", 0.0, "assumption (VEN neutropenia)"),
        # --- hypomethylating agents (azacitidine / decitabine), see docs/simulation.md -------
        # Exposure is a pulse: plasma half-lives are under an hour (azacitidine SC 41 min,
        # Vidaza label; decitabine ~0.5 h, Dacogen label), so each dosing day acts as one
        # fractional kill at the dose (log-kill per HMA unit; 1 unit = one day of
        # azacitidine 75 mg/m^2). The kill varies between patients (population.
        # hma_sensitivity), drawn from each patient's own HMA stream (population.
        # hma_draws), never from the main stream: these parameters have cv 0 here (the
        # IIV_NAMES draw order is unchanged) and designs without an HMA are unchanged.
        "hma_kill": _P(0.175, "log cells per HMA unit", 0.0,
                       "calibrated: median patient's kill (log-normal between patients, "
                       "CV hma_kill_cv); grid fit on seed-0 streams, 1,200 per arm "
                       "(benchmarks/sim_hma/fit_hma_sensitivity.md), to CR+CRi of "
                       "azacitidine alone 41/145 = 28.3 % with median time to first "
                       "response 2.8 months and of azacitidine + venetoclax 190/286 = "
                       "66.4 % (VIALE-A, DiNardo NEJM 2020;383:617); AML-001 azacitidine "
                       "67/241 = 27.8 % (Dombret Blood 2015;126:291) agrees. Assumptions: "
                       "linear in dose, same log-kill on both clones, pulse at the dose, "
                       "no HMA-venetoclax interaction term"),
        "hma_kill_cv": _P(0.5, "-", 0.0,
                          "calibrated with hma_kill (same grid): between-patient CV of "
                          "the HMA kill (log-normal, median 1). Without it (CV 0) "
                          "azacitidine alone responds at the day-112 or 140 marrow, not 84; "
                          "responders to azacitidine respond early (AZA-001: median 2 "
                          "cycles to first response, 91 % of first responses by cycle 6, "
                          "Silverman Cancer 2011;117:2697)"),
        "hma_sensitive_fraction": _P(1.0, "-", 0.0,
                                     "1 = one class (the shipped log-normal); below 1 "
                                     "a sensitive / resistant mixture: the share of "
                                     "HMA-sensitive patients. Fitted mixtures did worse "
                                     "(benchmarks/sim_hma/fit_hma_sensitivity.md)"),
        "hma_resistant_ratio": _P(1.0, "-", 0.0,
                                  "with hma_sensitive_fraction < 1: HMA kill of a "
                                  "resistant leukaemia relative to a sensitive one"),
        "hma_myelo_kill": _P(0.1, "log cells per HMA unit", 0.0,
                             "assumption, not calibrated; HMA myelosuppression of "
                             "neutrophil and platelet progenitors (same pulse)"),
        # --- lymphodepletion (Flu/Cy by BSA) -------------------------------------------------
        "ld_decay": _P(1.0, "1/day", 0.0,
                       "assumption; Cy t1/2 ~7 h, F-ara-A ~20 h -> effective 1/day"),
        "ld_lymph_kill": _P(1.2, "1/day per FC unit", 0.3, "calibrated to ALC nadir <0.1"),
        "ld_myelo_kill": _P(0.25, "1/day per FC unit", 0.3, "assumption (Flu/Cy myelotoxicity)"),
        "lymph_recovery": _P(0.03, "1/day", 0.3, "assumption (ALC recovery over weeks)"),
        "ld_car_boost": _P(0.5, "-", 0.0,
                           "assumption; homeostatic space boosts expansion (Hay 2017)"),
        # --- CAR-T: effector/memory/tumour core (Barros 2021; Chaudhury 2020) ----------------
        "car_blood_fraction": _P(0.1, "-", 0.0, "assumption; infused cells seen in blood"),
        "car_expansion": _P(1.03, "1/day", 0.25,
            "ABC-SMC posterior median, 95 % interval 0.54-1.99, re-fitted with the "
            "capacity fix on seeds 000 + 002 conditional on the other shipped values "
            "(benchmarks/sim_abc/abc_fit_cart_priming.md; full fit before the fix "
            "1.04, 0.693-1.94, abc_fit.md); Stein 2019 rho=0.889/d"),
        "car_stim_half": _P(0.02, "marrow fraction", 0.5, "calibrated"),
        "car_effector_loss": _P(0.16, "1/day", 0.3, "Stein 2019 alpha=0.16/d"),
        "car_memory_conversion": _P(0.0012, "1/day", 0.5, "Chaudhury 2020 k_EP=0.0012/d"),
        "car_memory_loss": _P(0.0032, "1/day", 0.5, "Stein 2019 beta=0.0032/d"),
        "car_memory_reactivation": _P(0.353, "1/day", 0.0,
            "ABC-SMC posterior median, 95 % interval 0.0614-3.04, fitted with the capacity "
            "fix on seeds 000 + 002 conditional on the other shipped values "
            "(benchmarks/sim_abc/abc_fit_cart_priming.md; was 0.5, an assumption); "
            "priming of resting cells (CARTmath theta)"),
        "car_kill_max": _P(2.5, "1/day", 0.4,
            "ABC-SMC posterior median, 95 % interval 1.56-2.8 "
            "(benchmarks/sim_abc/abc_fit.md); Kimmel 2021 gamma_B=1.15/d"),
        "antigen_density_cv": _P(1.6, "-", 0.0,
            "chosen with car_allo_recognition by session 12's pre-registered screen "
            "on fit streams 6 and 7, shipped by session 13's rule (power counted over "
            "fresh streams 10, 14, 15; every seed passes on unseen streams 2 and 17; "
            "benchmarks/sim_donor/README.md); inside the joint ABC-SMC 95 % interval "
            "0.34-1.7 (abc_fit_joint.md), above abc_fit.md's 0.537-1.32 (fits without "
            "the donor term; was 0.839); between-patient CV of blast antigen density "
            "(log-normal, median 1; Liu C 2023 eLife)"),
        "car_density_half": _P(0.946, "relative density", 0.0,
                               ("fitted to seeds 000+002 by the session-2 Nelder-Mead "
                                "block fit (since removed; not in the ABC-SMC fit); "
                                "density at half-maximal CAR recognition (synapse formation "
                                "falls with density)")),
        "car_density_hill": _P(3.0, "-", 0.0,
                               "assumption (fixed for the fit); steepness of recognition "
                               "in density"),
        "car_et_capacity": _P(1.0e4, "cells/uL per unit antigen load", 0.3,
                              "assumption; ratio-dependent stimulation bounds expansion "
                              "by available antigen (tumour + normal myeloid target)"),
        "car_exhaustion": _P(0.0403, "1/day at full stimulation", 0.3,
            "ABC-SMC posterior median, 95 % interval 0.0118-0.243, re-fitted with the "
            "capacity fix (spent only by CAR cells) on seeds 000 + 002 conditional on "
            "the other shipped values (benchmarks/sim_abc/abc_fit_cart_priming.md; "
            "before the fix 0.0229, abc_fit.md); expansion capacity lost under chronic "
            "antigen (contraction phase of Santurio 2025 PLoS Comput Biol)"),
        "car_resting_fraction": _P(0.562, "-", 0.0,
            "ABC-SMC posterior median, 95 % interval 0.0244-0.943, re-fitted with the "
            "capacity fix on seeds 000 + 002 conditional on the other shipped values "
            "(benchmarks/sim_abc/abc_fit_cart_priming.md; before the fix 0.608, "
            "abc_fit.md); share of the product arriving resting "
            "(naive/memory), primed by antigen before dividing; seed 002 product CD4+"
            " Tn-dominant (Zhang 2025 Fig. 3D)"),
        "car_homeostatic": _P(0.0, "1/day in empty lymphocyte space", 0.0,
                              "antigen-independent (IL-15) proliferation after "
                              "lymphodepletion (Gattinoni 2005 J Exp Med 202:907); 0 for "
                              "CAR-T (expansion is antigen-driven)"),
        "car_kill_half": _P(50.0, "cells/uL", 0.0, "assumption; Kimmel 2021 k_B form"),
        "car_neg_kill_fraction": _P(0.454, "-", 0.0,
            "ABC-SMC posterior median, 95 % interval 0.135-0.727 "
            "(benchmarks/sim_abc/abc_fit.md); antigen-dim/bystander kill (Santurio "
            "antigen-density continuum)"),
        "car_allo_recognition": _P(0.1, "relative to typical CLL-1 recognition", 0.0,
            "chosen with antigen_density_cv by session 12's pre-registered screen on "
            "fit streams 6 and 7, shipped by session 13's rule (benchmarks/sim_donor/"
            "README.md); not an ABC posterior. Antigen-independent (alloreactive TCR, "
            "graft-versus-leukaemia) recognition of the recipient's blasts, both "
            "clones, by a donor-derived CAR-T product after allo-HSCT, in kill, "
            "stimulation and IL-6; acts only on car_t components with source = "
            "'donor' (seed 002, Zhang 2025 Front Immunol 15:1491341); 0 turns it off"),
        "car_offtumour_weight": _P(0.01, "-", 0.0,
                                   "assumption; normal myeloid CLL-1 load (seed 002)"),
        "car_offtumour_kill": _P(0.6, "1/day", 0.4,
                                 "calibrated to grade 4 neutropenia 11/12 (seed 002)"),
        # --- CAR-NK (seed 004): shorter persistence, no memory ------------------------------
        "nk_expansion": _P(0.744, "1/day", 0.3,
            "ABC-SMC posterior median, 95 % interval 0.37-1.24 "
            "(benchmarks/sim_abc/abc_fit.md); antigen-driven CAR-NK expansion; seed "
            "004"),
        "nk_effector_loss": _P(0.30, "1/day", 0.3, "assumption; NK persistence ~2-3 weeks"),
        "nk_resting_fraction": _P(0.554, "-", 0.0,
            "ABC-SMC posterior median, 95 % interval 0.243-0.805 "
            "(benchmarks/sim_abc/abc_fit.md); share of the CAR-NK product arriving "
            "resting"),
        "nk_homeostatic": _P(0.191, "1/day in empty lymphocyte space", 0.0,
            "ABC-SMC posterior median, 95 % interval 0.0204-0.267 "
            "(benchmarks/sim_abc/abc_fit.md); IL-15-driven in vivo NK expansion after"
            " Flu/Cy (Miller 2005 Blood 105:3051)"),
        "nk_kill_max": _P(0.441, "1/day", 0.4,
            "ABC-SMC posterior median, 95 % interval 0.363-1.34 "
            "(benchmarks/sim_abc/abc_fit.md); seed 004"),
        "nk_il6_factor": _P(0.108, "-", 0.0,
            "ABC-SMC posterior median on seed 004, conditional on the other shipped "
            "values, 95 % interval 0.0159-2.14 (benchmarks/sim_abc/abc_fit_nk_il6.md); "
            "IL-6 production of activated CAR-NK relative to CAR-T (il6_car x this); "
            "CAR-NK cause little CRS: no CRS and no IL-6 rise in 11 CD19 CAR-NK "
            "patients (Liu E et al. N Engl J Med 2020;382:545)"),
        # --- blinatumomab: Clements 2020 Clin Pharmacokinet 59:463 ---------------------------
        "blin_cl": _P(53.28, "L/day", 0.476, "Clements 2020: 2.22 L/h at BSA 1.876, IIV 47.6%"),
        "blin_cl_bsa_exp": _P(0.620, "-", 0.0, "Clements 2020"),
        "blin_v": _P(5.98, "L", 0.0, "Clements 2020"),
        "blin_ec50": _P(52.0, "pg/mL", 0.0, "from in-vitro EC90 470 pg/mL (JCO 2013) /9"),
        "blin_kill_max": _P(0.961, "1/day", 0.4,
            "ABC-SMC posterior median, 95 % interval 0.492-1.2 "
            "(benchmarks/sim_abc/abc_fit.md); seed 003"),
        "blin_neg_kill_fraction": _P(0.12, "-", 0.0,
                                     "hand-adjusted to seed 003 (seed-1 streams); CD19-dim "
                                     "blasts below the flow gate are engaged at a fraction "
                                     "of the rate (as for CAR)"),
        "blin_t_half": _P(0.5, "10^9/L", 0.0, "assumption; E:T dependence (Hosseini 2020)"),
        "blin_et_burden": _P(2.0, "10^9/L per marrow fraction", 0.0,
                             "assumption; burden lowers E:T (seed 003 OR 0.95/%)"),
        # --- neutrophils: Friberg 2002 J Clin Oncol 20:4713 ---------------------------------
        "neut_mtt": _P(5.2, "day", 0.2, "Friberg 2002 MTT ~125 h"),
        "neut_gamma": _P(0.161, "-", 0.0, "Friberg 2002"),
        "neut_crowding": _P(0.3, "-", 0.0, "assumption; production x (1-burden)^q"),
        # --- platelets and haemoglobin ------------------------------------------------------
        "plt_mtt": _P(7.0, "day", 0.2, "assumption; megakaryocyte maturation (Friberg form)"),
        "plt_gamma": _P(0.2, "-", 0.0, "assumption; Friberg feedback exponent"),
        "plt_crowding": _P(0.3, "-", 0.0, "assumption; production x (1-burden)^q"),
        "hb_crowding": _P(0.15, "-", 0.0, "assumption"),
        "hb_turnover": _P(0.025, "1/day", 0.0, "assumption; effective red-cell turnover"),
        "ld_hb_effect": _P(0.5, "per FC unit", 0.0, "assumption (Flu/Cy erythroid toxicity)"),
        "plt_transfusion_trigger": _P(10.0, "10^9/L", 0.0,
                                      "prophylactic trigger (Kaufman 2015 AABB guideline)"),
        "plt_transfusion_increment": _P(25.0, "10^9/L", 0.0, "assumption; one adult dose"),
        "hb_transfusion_trigger": _P(7.0, "g/dL", 0.0,
                                     "restrictive trigger (Carson 2016 AABB guideline)"),
        "hb_transfusion_increment": _P(1.0, "g/dL", 0.0, "one red-cell unit ~1 g/dL"),
        # --- IL-6 and CRS -------------------------------------------------------------------
        "il6_baseline": _P(5.0, "pg/mL", 0.5, "assumption (normal <7 pg/mL)"),
        "il6_elim": _P(2.0, "1/day", 0.0, "assumption; effective pool clearance"),
        "il6_car": _P(25.1, "pg/mL/day per cell/uL", 0.8,
            "ABC-SMC posterior median, 95 % interval 5.53-218 "
            "(benchmarks/sim_abc/abc_fit.md); activated effectors (Hardiansyah 2019)"),
        "il6_prod_max": _P(2.0e5, "pg/mL/day", 0.0,
                           "assumption; caps IL-6 near 1e5 pg/mL (severe CRS maxima, "
                           "Teachey 2016 Cancer Discov 6:664)"),
        "il6_blin": _P(448.0, "pg/mL/day", 0.8,
                      ("fitted to seed 003 by the session-2 Nelder-Mead block fit (since removed; "
                       "not in the ABC-SMC fit); TCE form (Hosseini 2020)")),
        "crs_cut1": _P(30.0, "pg/mL", 0.0, "calibrated cut-point P(grade>=1)=1/2"),
        "crs_cut2": _P(150.0, "pg/mL", 0.0, "calibrated cut-point grade>=2"),
        "crs_cut3": _P(400.0, "pg/mL", 0.0, "calibrated cut-point grade>=3"),
        "crs_cut4": _P(4000.0, "pg/mL", 0.0, "calibrated cut-point grade>=4"),
        "crs_scale": _P(0.6, "log pg/mL", 0.0, "calibrated logistic scale"),
        "icans_cut1": _P(800.0, "pg/mL", 0.0,
                         "assumption; ICANS follows severe CRS (Santomasso 2018 Cancer "
                         "Discov 8:958), cut-points on IL-6 excess two days earlier"),
        "icans_cut2": _P(2500.0, "pg/mL", 0.0, "assumption"),
        "icans_cut3": _P(6000.0, "pg/mL", 0.0, "assumption"),
        "icans_cut4": _P(20000.0, "pg/mL", 0.0, "assumption"),
        "icans_car_only": _P(1.0, "-", 0.0,
                             "1 = ICANS only after CAR-T (none reported for CAR-NK, seed 004)"),
        # --- bedside / assay ----------------------------------------------------------------
        "marrow_cells_counted": _P(500.0, "cells", 0.0,
                                   "ELN 2022: 500-cell marrow differential"),
        "blood_cells_counted": _P(200.0, "cells", 0.0, "200-cell blood differential"),
        "mrd_lod_pct": _P(0.02, "%", 0.0,
                          "assumption; multiparameter flow sensitivity ~2e-4 (ELN MRD 2021, "
                          "Heuser Blood 2021;138:2753: threshold 0.1 %, LOD below it)"),
        "mrd_cv": _P(0.3, "-", 0.0, "assumption; measurement CV of MRD"),
        "car_cells_lloq": _P(0.5, "cells/uL", 0.0, "assumption; flow cytometry LLOQ"),
        # --- mortality (post hoc hazard on the trajectory) -----------------------------------
        "hazard_progression": _P(0.015, "1/day at 100% blasts", 0.0,
                                 "assumption; untreated R/R AML median OS ~3 months"),
        "hazard_neutropenia": _P(0.0015, "1/day while ANC<0.5", 0.0,
                                 "assumption; infection deaths (seeds 002, Jin 2022)"),
        "hazard_baseline": _P(2e-4, "1/day", 0.0, "assumption"),
        "crs4_death_prob": _P(0.3, "-", 0.0, "assumption (seed 002: 1 of 1 CRS G4 died)"),
    }
)

#: Parameters with IIV, in a fixed order (random draws are consumed in this order).
IIV_NAMES: tuple[str, ...] = tuple(sorted(k for k, p in PARAMETERS.items() if p.cv > 0))


def typical(overrides: dict[str, float] | None = None) -> dict[str, float]:
    """Typical values, with ``overrides`` applied (names must exist; checked by design).

    Parameters
    ----------
    overrides : dict of str to float, optional
        Values replacing the typical ones (a design's ``[parameters]``); names are not
        checked here (:func:`remission.sim.design.parse_design` refuses unknown ones).

    Returns
    -------
    dict of str to float
        Every name of :data:`PARAMETERS` with its value (units as listed there).

    Examples
    --------
    >>> v = typical({"ven_cl": 300.0})
    >>> v["ven_cl"], v["ven_v2"], len(v) == len(PARAMETERS)
    (300.0, 99.0, True)
    """
    out = {k: p.value for k, p in PARAMETERS.items()}
    if overrides:
        out.update(overrides)
    return out


def candidate_point(values: Mapping[str, float] | Iterable[str]) -> dict[str, float]:
    """A candidate calibration point: parameter values to screen or judge against the
    seed studies, with CAR-NK's IL-6 kept as shipped when only ``il6_car`` moves.

    A CAR-NK cell's IL-6 production is ``il6_car x nk_il6_factor``
    (:func:`remission.sim.population.build_patients`). A point that changes the CAR-T
    production ``il6_car`` without giving ``nk_il6_factor`` is taken to mean CAR-T only,
    so ``nk_il6_factor`` is scaled to keep the product at its shipped value (seed 004's
    CAR-NK targets are not moved by a CAR-T parameter).

    Parameters
    ----------
    values : mapping of str to float, or iterable of str
        Values by name, or ``NAME=VALUE`` texts as the calibration scripts take them on
        the command line.

    Returns
    -------
    dict of str to float
        The point, ``nk_il6_factor`` added where the rule above applies.

    Raises
    ------
    ValueError
        Naming every text that is not ``NAME=VALUE`` with a number, and every unknown
        parameter, at once.

    Examples
    --------
    >>> p = candidate_point(["il6_car=60", "car_expansion=0.8"])
    >>> p["car_expansion"], round(p["il6_car"] * p["nk_il6_factor"], 9) == round(
    ...     PARAMETERS["il6_car"].value * PARAMETERS["nk_il6_factor"].value, 9)
    (0.8, True)
    >>> candidate_point({"il6_car": 60.0, "nk_il6_factor": 0.2})["nk_il6_factor"]
    0.2
    >>> candidate_point(["antigen_cv=2", "car_expansion"])
    Traceback (most recent call last):
    ...
    ValueError: not NAME=VALUE with a number: 'car_expansion'; unknown parameter(s): antigen_cv
    """
    problems = []
    if isinstance(values, Mapping):
        point = {str(k): float(v) for k, v in values.items()}
    else:
        point = {}
        for text in values:
            name, sep, value = str(text).partition("=")
            try:
                point[name.strip()] = float(value) if sep else float("x")
            except ValueError:
                problems.append(f"not NAME=VALUE with a number: {text!r}")
    unknown = sorted(set(point) - set(PARAMETERS))
    if unknown:
        problems.append(f"unknown parameter(s): {', '.join(unknown)}")
    if problems:
        raise ValueError("; ".join(problems))
    if "il6_car" in point and "nk_il6_factor" not in point:
        point["nk_il6_factor"] = (PARAMETERS["nk_il6_factor"].value
                                  * PARAMETERS["il6_car"].value / point["il6_car"])
    return point
