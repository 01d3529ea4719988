"""Disease / effector / toxicity right-hand side, vectorised across virtual patients.

State rows (each an array over patients):

====  =======================================================================
 0    log L+  antigen-positive leukaemia, fraction of marrow capacity (log)
 1    log L-  antigen-negative leukaemia (log)
 2    A       relative target-antigen density (1 = baseline)
 3    E       CAR effector cells, cells/uL blood
 4    M       CAR memory cells, cells/uL blood
 5    T       endogenous lymphocytes (ALC), 10^9/L
 6    P       neutrophil progenitors (Friberg proliferating pool), 10^9/L-equivalent
 7-9  Tr1-3   Friberg transit compartments
 10   N       circulating neutrophils (ANC), 10^9/L
 11   I       IL-6, pg/mL
 12   PP      platelet progenitors (Friberg proliferating pool), 10^9/L-equivalent
13-15 PT1-3   platelet transit compartments
 16   PLT     circulating platelets, 10^9/L
 17   HB      haemoglobin, g/dL
 18   FIT     CAR expansion capacity (1 = fresh; falls with cumulative antigen
              stimulation of the CAR cells: exhaustion under chronic antigen, e.g.
              normal myeloid target; constant while the patient has no CAR cells)
====  =======================================================================

Leukaemia sub-clones are defined by the arm's target antigen (CLL-1, CD123 or CD19):
logistic growth in the marrow, switching between + and - (models.md §5 proposal), a
venetoclax Emax kill that is stronger on the antigen-negative (MCL-1-low) clone
(``ven_sensitivity_ratio``, seed 000) and antigen up-regulation ``A`` that persists
after withdrawal. The blasts' venetoclax IC50 rises with that up-regulation as
``A ** ven_tolerance`` (adaptive tolerance: CLL-1 and MCL-1 rise together, seed 000's
knock-down; venetoclax exposure induces MCL-1, Lin KH et al. Sci Rep 2016;6:27696), so a
7-day lead-in keeps most of its kill while continuous dosing loses it over the first
cycles (calibrated to VIALE-A, docs/simulation.md). Each patient's blasts carry their own
antigen density (log-normal between patients); CAR recognition saturates in density
(:func:`recognition`), so low-density leukaemias are killed slowly and stimulate little
expansion. CAR cells kill "negative" blasts at a fraction of the rate
(``car_neg_kill_fraction``: antigen-dim cells below the flow gate and bystander killing,
the antigen-density continuum of Santurio et al.; without it no MRD-negative response
is possible whenever 1-20 % of blasts are negative, as in seed 002). Leukaemia is
integrated in log space so relative accuracy holds over twelve orders of magnitude.

Effectors follow the effector/memory/tumour core of CARTmath (Barros 2021 Cancers
13:2941) with saturating antigen stimulation as in Chaudhury 2020 J Clin Pharmacol
60(S1) (EC50 expansion model), made ratio-dependent: stimulation is
``target / (K + target + E / car_et_capacity)``, so each CAR cell needs its share of
antigen (tumour plus normal CLL-1/CD123+ myeloid cells, which the CAR depletes). The
effector pool is therefore bounded by ``expansion x target x car_et_capacity / loss``
whatever the dose or the population size, and contracts once antigen is cleared or
the cells' expansion capacity is spent (``car_exhaustion``: capacity falls with cumulative
stimulation, the exhaustion of chronically stimulated CAR cells; without it, normal
CLL-1+ myeloid cells that regenerate would keep the cells up for months) and
Stein 2019 (CPT PSP 8:285) rates for contraction and
memory; killing saturates in effectors (Kimmel 2021 Proc R Soc B 288:20210229).
CLL-1 is on normal myeloid cells, so CLL-1 CAR cells also stimulate on and kill
neutrophil progenitors (on-target/off-tumour; seed 002). Neutrophils follow Friberg
2002 (J Clin Oncol 20:4713) with marrow crowding. Blinatumomab killing of CD19+ blasts
requires T cells and falls with burden (effector:target, Hosseini 2020 npj Syst Biol
Appl 6:28). IL-6 is produced by antigen-activated effectors (Hardiansyah 2019 Clin
Transl Sci 12:343; Hosseini 2020 for T-cell engagers).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

N_STATES = 19
(LP, LN, AG, EF, MEM, LY, PR, TR1, TR2, TR3, NE, IL,
 PP, PT1, PT2, PT3, PLT, HB, FIT) = range(N_STATES)
STATE_NAMES = ("log_leuk_pos", "log_leuk_neg", "antigen_density", "car_effector",
               "car_memory", "lymphocytes", "neut_prolif", "neut_transit1", "neut_transit2",
               "neut_transit3", "anc", "il6", "plt_prolif", "plt_transit1", "plt_transit2",
               "plt_transit3", "platelets", "hemoglobin", "car_fitness")

Params = Mapping[str, np.ndarray]


def initial_state(p: Params) -> np.ndarray:
    """Baseline state: burden ``b0``, positive fraction ``pos0``, steady blood counts.

    Parameters
    ----------
    p : Mapping
        Per-patient parameter arrays (:func:`remission.sim.population.build_patients`):
        ``b0`` (baseline leukaemia, fraction of marrow capacity), ``pos0`` (antigen-positive
        share), ``alc0``, ``il6_baseline`` and what :func:`baseline_anc`,
        :func:`baseline_platelets` and :func:`baseline_hb` read.

    Returns
    -------
    numpy.ndarray
        The state, shape (:data:`N_STATES`, n), rows as in the module docstring: no CAR
        cells, antigen density 1, full CAR fitness, blood-count lineages at their
        steady state with crowding.

    Examples
    --------
    >>> import numpy as np
    >>> from remission.sim.params import typical
    >>> from remission.sim.population import build_patients
    >>> cov, p = build_patients(0, np.arange(2), {}, typical(), "car_t", "CLL1")
    >>> y = initial_state(p)

    The two clones add up to the baseline burden:

    >>> y.shape, bool(np.allclose(np.exp(y[LP]) + np.exp(y[LN]), p["b0"]))
    ((19, 2), True)
    """
    b0 = np.asarray(p["b0"], float)
    pos0 = np.asarray(p["pos0"], float)
    n = b0.shape[0]
    y = np.zeros((N_STATES, n))
    y[LP] = np.log(b0 * pos0)
    y[LN] = np.log(b0 * (1.0 - pos0))
    y[AG] = 1.0
    y[LY] = p["alc0"]
    anc0 = baseline_anc(p)
    y[PR:NE + 1] = anc0
    y[IL] = p["il6_baseline"]
    y[PP:PLT + 1] = baseline_platelets(p)
    y[HB] = baseline_hb(p)
    y[FIT] = 1.0
    return y


def _space(p: Params) -> np.ndarray:
    return 1.0 - np.asarray(p["b0"], float)


def _friberg_baseline(p: Params, healthy: str, crowding: str, gamma: str) -> np.ndarray:
    """Friberg steady state with crowding of one lineage: ``healthy x (1 - b0)^(q / gamma)``.

    Computed as ``healthy x ((1 - b0)^q)^(1 / gamma)``, the operations (and so the bits)
    of the platelet and ANC baselines.

    Parameters
    ----------
    p : Mapping
        ``b0`` (leukaemia, fraction of marrow) and the three keys named below.
    healthy, crowding, gamma : str
        Keys of the lineage's healthy value (10^9/L), crowding exponent (q) and Friberg
        feedback exponent.

    Returns
    -------
    numpy.ndarray
        The baseline (10^9/L), one per patient.

    Examples
    --------
    >>> p = {"b0": [0.0, 0.75], "h": 2.0, "q": 0.5, "g": 0.25}
    >>> _friberg_baseline(p, "h", "q", "g").tolist()  # 2 x 0.25^2
    [2.0, 0.125]
    """
    g0 = _space(p) ** p[crowding]
    return p[healthy] * g0 ** (1.0 / p[gamma])


def baseline_platelets(p: Params) -> np.ndarray:
    """Friberg steady state with crowding for the platelet lineage.

    Parameters
    ----------
    p : Mapping
        ``b0`` (leukaemia, fraction of marrow), ``plt_healthy`` (10^9/L without
        leukaemia), ``plt_crowding`` (q) and ``plt_gamma`` (Friberg feedback exponent).

    Returns
    -------
    numpy.ndarray
        ``plt_healthy x (1 - b0)^(q / gamma)`` (10^9/L), one per patient.

    References
    ----------
    Friberg LE et al. J Clin Oncol 2002;20:4713-21 (the feedback model; crowding is our
    assumption, docs/simulation.md).

    Examples
    --------
    Half the marrow taken by leukaemia, q = 0.3, gamma = 0.2: 250 x 0.5^1.5 = 88.39:

    >>> p = {"b0": [0.0, 0.5], "plt_healthy": 250.0, "plt_crowding": 0.3, "plt_gamma": 0.2}
    >>> baseline_platelets(p).round(2).tolist()
    [250.0, 88.39]
    """
    return _friberg_baseline(p, "plt_healthy", "plt_crowding", "plt_gamma")


def baseline_hb(p: Params) -> np.ndarray:
    """Haemoglobin steady state: healthy value x (free marrow)^q.

    Parameters
    ----------
    p : Mapping
        ``b0`` (leukaemia, fraction of marrow), ``hb_healthy`` (g/dL without leukaemia)
        and ``hb_crowding`` (q).

    Returns
    -------
    numpy.ndarray
        ``hb_healthy x (1 - b0)^q`` (g/dL), one per patient.

    Examples
    --------
    >>> p = {"b0": [0.0, 0.5], "hb_healthy": 13.5, "hb_crowding": 0.15}
    >>> baseline_hb(p).round(2).tolist()  # 13.5 x 0.5^0.15 = 12.17
    [13.5, 12.17]
    """
    return p["hb_healthy"] * _space(p) ** p["hb_crowding"]


def baseline_anc(p: Params) -> np.ndarray:
    """Friberg steady state with crowding: ANC0 = ANC_healthy * (1-b0)^(q/gamma).

    Parameters
    ----------
    p : Mapping
        ``b0`` (leukaemia, fraction of marrow), ``anc_healthy`` (10^9/L without
        leukaemia), ``neut_crowding`` (q) and ``neut_gamma`` (Friberg feedback exponent).

    Returns
    -------
    numpy.ndarray
        Baseline ANC (10^9/L), one per patient.

    References
    ----------
    Friberg LE et al. J Clin Oncol 2002;20:4713-21.

    Examples
    --------
    >>> p = {"b0": [0.0, 0.5], "anc_healthy": 2.5, "neut_crowding": 0.3, "neut_gamma": 0.161}
    >>> baseline_anc(p).round(3).tolist()  # 2.5 x 0.5^(0.3/0.161) = 0.687
    [2.5, 0.687]
    """
    return _friberg_baseline(p, "anc_healthy", "neut_crowding", "neut_gamma")


def infuse(y: np.ndarray, cells: np.ndarray | float, p: Params) -> None:
    """Add infused CAR cells (cells/uL of blood) to the state ``y`` in place.

    The product is not all effector: a share ``resting_fraction`` arrives resting
    (naive / stem-like memory phenotype) and enters the memory compartment M, which
    antigen activates into dividing effectors at ``car_memory_reactivation x S x F``
    (the CARTmath theta term). Resting cells need that priming before they divide, so
    expansion starts with a lag and peaks later. Evidence: in seed 002's product CD4+
    naive T cells dominated and CD4+ effector-memory cells at the expansion peak
    (Zhang 2025 Front Immunol 15:1491341, Fig. 3D); antigen-primed T cells first divide
    after a lag and then expand by a programmed burst (Kaech & Ahmed 2001 Nat Immunol
    2:415); tisagenlecleucel peaks at a median of ~10 days (Mueller 2017 Blood 130:2317).

    Parameters
    ----------
    y : numpy.ndarray
        The state (:data:`N_STATES`, n), changed in place.
    cells : numpy.ndarray or float
        Infused CAR cells per uL of blood, per patient (or one value for all).
    p : Mapping
        ``resting_fraction``: the share entering the memory compartment.

    Returns
    -------
    None

    References
    ----------
    Zhang M et al. Front Immunol 2025;15:1491341 (Fig. 3D); Kaech SM, Ahmed R. Nat
    Immunol 2001;2:415-22; Mueller KT et al. Blood 2017;130:2317-25.

    Examples
    --------
    >>> y = np.zeros((N_STATES, 1))
    >>> infuse(y, 100.0, {"resting_fraction": 0.6})
    >>> float(y[EF, 0]), float(y[MEM, 0])
    (40.0, 60.0)
    """
    f = p["resting_fraction"]
    y[EF] += (1.0 - f) * cells
    y[MEM] += f * cells


def hma_pulse(y: np.ndarray, units: np.ndarray | float, p: Params) -> None:
    """Apply one day's hypomethylating-agent dose (``units``) to the state ``y`` in place.

    Azacitidine and decitabine leave plasma within hours (half-lives under an hour), far
    faster than any rate of this model, so a dosing day acts as an instantaneous
    fractional kill (the log-kill form of cytotoxic dosing, Skipper 1964): both leukaemic
    clones lose ``hma_kill x units`` in log (the HMA is not antigen-specific), and the
    neutrophil and platelet progenitor pools are multiplied by
    ``exp(-hma_myelo_kill x units)`` (myelosuppression). One unit is one day of
    azacitidine 75 mg/m^2 (:data:`remission.sim.pk.HMA_UNITS_PER_MG_M2`).

    Parameters
    ----------
    y : numpy.ndarray
        The state (:data:`N_STATES`, n), changed in place.
    units : numpy.ndarray or float
        HMA units given today, per patient (0 = no dose: nothing changes).
    p : Mapping
        ``hma_kill`` and ``hma_myelo_kill`` (log cells per unit).

    Returns
    -------
    None

    References
    ----------
    Skipper HE, Schabel FM, Wilcox WS. Cancer Chemother Rep 1964;35:1-111 (log-kill);
    Vidaza and Dacogen labels (half-lives); parameter sources in
    :data:`remission.sim.params.PARAMETERS`.

    Examples
    --------
    A 7-unit cycle at ``hma_kill = 0.1`` leaves exp(-0.7) = 49.66 % of the leukaemia:

    >>> y = np.zeros((N_STATES, 2)); y[PR] = y[PP] = 1.0
    >>> for _ in range(7):
    ...     hma_pulse(y, np.array([1.0, 0.0]), {"hma_kill": 0.1, "hma_myelo_kill": 0.05})
    >>> np.exp(y[LP]).round(4).tolist(), y[PR].round(4).tolist()
    ([0.4966, 1.0], [0.7047, 1.0])
    """
    u = np.asarray(units, float)
    y[LP] -= p["hma_kill"] * u
    y[LN] -= p["hma_kill"] * u
    keep = np.exp(-p["hma_myelo_kill"] * u)
    y[PR] *= keep
    y[PP] *= keep


def recognition(density: np.ndarray, half: np.ndarray | float,
                hill: np.ndarray | float = 1.0) -> np.ndarray:
    """CAR recognition of a blast as a function of its antigen density (relative to the
    typical patient): a Hill curve ``d^h (1 + K^h) / (d^h + K^h)``, 1 at density 1.
    Killing and antigen stimulation scale with it; dim blasts (the "negative" clone)
    are killed at ``car_neg_kill_fraction`` of it. Up-regulation by venetoclax raises
    ``a`` and so recognition, most in low-density patients (the seed-000 hypothesis).

    Parameters
    ----------
    density : numpy.ndarray
        Antigen density per blast relative to the typical patient (>= 0).
    half : numpy.ndarray or float
        ``K``: the relative density of half-maximal recognition (``car_density_half``).
    hill : numpy.ndarray or float, default 1.0
        ``h``: steepness (``car_density_hill``).

    Returns
    -------
    numpy.ndarray
        Relative recognition: 0 at density 0, 1 at density 1, ``(1 + K^h) / 2`` at
        density K, tending to ``1 + K^h`` at high density.

    Examples
    --------
    >>> recognition(np.array([0.0, 0.5, 1.0, 1e9]), 0.5).round(6).tolist()
    [0.0, 0.75, 1.0, 1.5]
    """
    dh, kh = density**hill, half**hill
    return dh * (1.0 + kh) / (dh + kh)


def rhs(y: np.ndarray, cv: np.ndarray, cb: np.ndarray, ld: np.ndarray, p: Params,
        alive: np.ndarray | float = 1.0) -> np.ndarray:
    """Time derivative of the state given driver concentrations (sources: module docstring).

    Parameters
    ----------
    y : numpy.ndarray
        The state (:data:`N_STATES`, n); rows as in the module docstring.
    cv : numpy.ndarray
        Venetoclax plasma concentration (mg/L), shape (n,).
    cb : numpy.ndarray
        Blinatumomab concentration (pg/mL), shape (n,).
    ld : numpy.ndarray
        Flu/Cy exposure (FC units, :func:`remission.sim.pk.fc_units`), shape (n,).
    p : Mapping
        Per-patient parameter arrays (:func:`remission.sim.population.build_patients`).
    alive : numpy.ndarray or float, default 1.0
        0 for patients whose leukaemia is extinct (fewer than one cell), 1 otherwise.

    Returns
    -------
    numpy.ndarray
        ``dy/dt`` per day, shape (:data:`N_STATES`, n).

    Examples
    --------
    >>> import numpy as np
    >>> from remission.sim.params import typical
    >>> from remission.sim.population import build_patients
    >>> cov, p = build_patients(0, np.arange(2), {}, typical(), "car_t", "CLL1")

    At baseline, with no drug and no CAR cells, the blood counts, lymphocytes and IL-6 are
    at their steady state (rows 2-17 do not move) while the untreated leukaemia grows:

    >>> dy = rhs(initial_state(p), np.zeros(2), np.zeros(2), np.zeros(2), p)
    >>> bool(np.allclose(dy[AG:FIT], 0.0, atol=1e-12)), bool((dy[[LP, LN]] > 0).all())
    (True, True)
    """
    lpos, lneg = np.exp(y[LP]), np.exp(y[LN])
    ltot = lpos + lneg
    a, e, m, t, pr = y[AG], y[EF], y[MEM], y[LY], y[PR]
    n_c = y[NE]
    dy = np.empty_like(y)

    # leukaemia
    # drug terms are skipped when the drug is absent for every patient: they are then
    # exactly 0.0, so skipping them leaves every result bit-identical
    has_ven, has_blin = bool(cv.any()), bool(cb.any())
    grow = p["leuk_growth"] * (1.0 - ltot)
    car_sat = e / (p["car_kill_half"] + e)
    recog = recognition(a * p["antigen_density"], p["car_density_half"], p["car_density_hill"])
    kill_car = p["kill_max"] * car_sat * recog
    kill_pos = kill_car
    kill_neg = p["car_neg_kill_fraction"] * kill_car
    # donor-derived product after allo-HSCT: alloreactive (graft-versus-leukaemia)
    # recognition of both clones whatever their CAR-antigen density; exactly 0 (and so
    # bit-identical) for every other product
    g = p["allo_recognition"]
    kill_allo = p["kill_max"] * car_sat * g
    kill_pos = kill_pos + kill_allo
    kill_neg = kill_neg + kill_allo
    if has_ven:
        ic50 = p["ven_ic50_pos"] * a ** p["ven_tolerance"]
        kill_pos = kill_pos + p["ven_kill_max"] * cv / (ic50 + cv)
        kill_neg = kill_neg + p["ven_kill_max"] * cv / (ic50 / p["ven_sensitivity_ratio"] + cv)
    if has_blin:
        occ_b = cb / (p["blin_ec50"] + cb)
        kill_b = p["blin_kill_max"] * occ_b * a * t / (
            p["blin_t_half"] + t + p["blin_et_burden"] * ltot)
        kill_pos = kill_pos + kill_b
        # "negative" = below the flow gate: CD19-dim blasts are still engaged, less so
        kill_neg = kill_neg + p["blin_neg_kill_fraction"] * kill_b
    m_np = p["switch_neg_to_pos"] * (1.0 + p["antigen_switch_gain"] * (a - 1.0))
    m_pn = p["switch_pos_to_neg"]
    ratio = lneg / lpos  # L- / L+
    dy[LP] = (grow - kill_pos - m_pn + m_np * ratio) * alive
    dy[LN] = (grow - kill_neg - m_np + m_pn / ratio) * alive
    dy[AG] = -p["antigen_decay"] * (a - 1.0)
    if has_ven:
        dy[AG] += p["antigen_up_rate"] * cv / (p["antigen_up_ec50"] + cv)

    # CAR effector / memory
    engaged = recog * lpos + g * ltot  # leukaemia the product recognises
    target = engaged + p["offtumour_weight"] * pr / p["anc_healthy"]
    stim = target / (p["car_stim_half"] + target + e / p["car_et_capacity"])
    boost = 1.0 + p["ld_car_boost"] * np.maximum(0.0, 1.0 - t / p["alc0"])
    fit = y[FIT]
    react = p["car_memory_reactivation"] * stim * m * fit
    # antigen-independent (homeostatic, IL-15-driven) proliferation in lymphopenic space:
    # lymphodepletion removes the lymphocytes that consume IL-15 (Gattinoni 2005 J Exp
    # Med 202:907), and adoptively transferred NK cells expand in vivo with the IL-15
    # rise after Flu/Cy, most by day 14 (Miller 2005 Blood 105:3051); the drive fades as
    # the patient's lymphocytes recover and is shared among the infused cells (sink
    # car_et_capacity)
    homeo = p["homeostatic"] * np.maximum(0.0, 1.0 - t / p["alc0"]) / (
        1.0 + e / p["car_et_capacity"])
    dy[EF] = (p["expansion"] * boost * stim * fit + homeo - p["effector_loss"]
              - p["memory_conversion"]) * e + react
    # exhaustion is spent by CAR cells meeting antigen: before the first infusion (no CAR
    # cells) the capacity stays 1 however much antigen the patient carries
    dy[FIT] = np.where(e + m > 0.0, -p["car_exhaustion"] * stim * fit, 0.0)
    dy[MEM] = p["memory_conversion"] * e - react - p["memory_loss"] * m

    # lymphocytes
    dy[LY] = p["lymph_recovery"] * (p["alc0"] - t) - p["ld_lymph_kill"] * ld * t

    # neutrophils (Friberg 2002) with crowding and on-target/off-tumour kill;
    # feedback x crowding = exp(gamma*log(ANC_h/N) + q*log(1-burden)) (one exp)
    ktr = 4.0 / p["neut_mtt"]
    k_off = p["offtumour_kill"] * car_sat
    kdrug = p["ld_myelo_kill"] * ld + k_off
    if has_ven:
        kdrug = kdrug + p["ven_myelo_slope"] * cv
    drive = np.exp(p["neut_gamma"] * np.log(p["anc_healthy"] / n_c)
                   + p["neut_crowding"] * np.log(np.maximum(1.0 - ltot, 1e-3)))
    dy[PR] = ktr * pr * (drive - 1.0) - kdrug * pr
    dy[TR1] = ktr * (pr - y[TR1])
    dy[TR2] = ktr * (y[TR1] - y[TR2])
    dy[TR3] = ktr * (y[TR2] - y[TR3])
    dy[NE] = ktr * (y[TR3] - n_c) - k_off * n_c

    # IL-6
    # IL-6 from CAR cells engaging leukaemia (tumour share of the stimulation): CRS is
    # driven by tumour killing and the macrophage activation it causes (Santurio 2025,
    # DAMPs / CD40L), so persistence on regenerating normal myeloid cells does not keep
    # IL-6 up after the leukaemia is cleared
    tumour_share = engaged / np.maximum(target, 1e-300)
    prod = p["il6_car"] * e * stim * tumour_share
    if has_blin:
        prod = prod + p["il6_blin"] * occ_b * t * lpos
    # production saturates (cytokine-producing cells are finite): IL-6 stays below
    # il6_prod_max / il6_elim, the highest values reported in severe CRS (~1e5 pg/mL)
    dy[IL] = prod / (1.0 + prod / p["il6_prod_max"]) - p["il6_elim"] * (y[IL] - p["il6_baseline"])

    # platelets (Friberg structure, own MTT and feedback; Flu/Cy myelotoxicity, crowding;
    # CLL-1/CD123 are not on megakaryocytes in this model)
    space = np.maximum(1.0 - ltot, 1e-3)
    ktp = 4.0 / p["plt_mtt"]
    pp, plt = y[PP], y[PLT]
    drive_p = np.exp(p["plt_gamma"] * np.log(p["plt_healthy"] / plt)
                     + p["plt_crowding"] * np.log(space))
    kdp = p["ld_myelo_kill"] * ld
    if has_ven:
        kdp = kdp + p["ven_myelo_slope"] * cv
    dy[PP] = ktp * pp * (drive_p - 1.0) - kdp * pp
    dy[PT1] = ktp * (pp - y[PT1])
    dy[PT2] = ktp * (y[PT1] - y[PT2])
    dy[PT3] = ktp * (y[PT2] - y[PT3])
    dy[PLT] = ktp * (y[PT3] - plt)
    # haemoglobin: production by the free marrow, lowered by Flu/Cy; slow turnover
    prod_hb = p["hb_healthy"] * space ** p["hb_crowding"] / (1.0 + p["ld_hb_effect"] * ld)
    dy[HB] = p["hb_turnover"] * (prod_hb - y[HB])
    return dy


def observables(y: np.ndarray, p: Params) -> dict[str, np.ndarray]:
    """Clinical observables from the state (each shape (n,)).

    Parameters
    ----------
    y : numpy.ndarray
        The state (:data:`N_STATES`, n).
    p : Mapping
        Per-patient parameter arrays (reads ``b0``, the ANC baseline parameters and the
        peripheral-blast curve ``pb_blast_*``).

    Returns
    -------
    dict of str to numpy.ndarray
        ``marrow_blasts_pct`` (leukaemia over leukaemia plus normal marrow, %),
        ``peripheral_blasts_pct`` (%), ``antigen_positive_pct`` (% of blasts; NaN without
        leukaemia), ``antigen_density_rel``, ``car_cells_per_ul`` (effector + memory),
        ``alc``, ``anc``, ``platelets`` (10^9/L), ``hemoglobin`` (g/dL), ``il6_pg_ml`` and
        ``leukaemia_burden`` (fraction of marrow capacity); each shape (n,).

    Examples
    --------
    >>> import numpy as np
    >>> from remission.sim.params import typical
    >>> from remission.sim.population import build_patients
    >>> cov, p = build_patients(0, np.arange(2), {}, typical(), "car_t", "CLL1")

    At baseline the marrow blast percentage is the patient's baseline blast percentage:

    >>> o = observables(initial_state(p), p)
    >>> bool(np.allclose(o["marrow_blasts_pct"], cov["baseline_blasts_pct"]))
    True
    """
    lpos, lneg = np.exp(y[LP]), np.exp(y[LN])
    ltot = lpos + lneg
    b0 = np.asarray(p["b0"], float)
    normal = (1.0 - b0) * (0.5 + 0.5 * y[PR] / baseline_anc(p))
    marrow = 100.0 * ltot / (ltot + normal)
    h = p["pb_blast_hill"]
    pb = p["pb_blast_max_pct"] * marrow**h / (p["pb_blast_half_pct"] ** h + marrow**h)
    with np.errstate(invalid="ignore", divide="ignore"):
        pos = np.where(ltot > 0, 100.0 * lpos / ltot, np.nan)
    return {
        "marrow_blasts_pct": marrow,
        "peripheral_blasts_pct": pb,
        "antigen_positive_pct": pos,
        "antigen_density_rel": y[AG].copy(),
        "car_cells_per_ul": y[EF] + y[MEM],
        "alc": y[LY].copy(),
        "anc": y[NE].copy(),
        "platelets": y[PLT].copy(),
        "hemoglobin": y[HB].copy(),
        "il6_pg_ml": y[IL].copy(),
        "leukaemia_burden": ltot,
    }
