"""Generate the SYNTHETIC raw CAR-T study in examples/synthetic-cart-raw/ (fixed seed).

Every patient is built from named scenarios (CRS, neurotoxicity, early/late ICAHT,
platelet/haemoglobin/lymphocyte nadirs, response at day 28) chosen so that the data
exercise every grade of every rule system in :mod:`remission.derive.criteria`. The
intended grade of each scenario under each system is written down here
(:data:`CRS`, :data:`NEURO`, :data:`RESPONSE`) and the test suite checks the engines
against it. No real patient contributed any value.

Usage: ``python scripts/make_synthetic_cart.py [OUTDIR]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261123
N = 40
LLOQ = 50.0  # CAR transgene copies/µg gDNA; below is reported as 0

# scenario -> (ASTCT 2019, Lee 2014, CARTOX 2018) intended maximum CRS grade (CARTOX has no
# grade 5: its table stops at 4)
CRS = {
    "none": (0, 0, 0), "g1": (1, 1, 1), "g2_hypo": (2, 2, 2), "g2_lowflow": (2, 2, 2),
    "nc6": (2, 3, 3), "nc65": (3, 3, 3), "g3_lowdose": (3, 2, 2), "g3_highdose": (3, 3, 3),
    "g3_hfnc": (3, 3, 3), "g3_vaso": (3, 3, 3), "g4_2press": (4, 3, 3), "g4_vent": (4, 4, 4),
    "g4_bipap": (4, 4, 4), "g5": (5, 5, 3), "nofever_hypoxia": (0, 2, 2),
    "toci_waiver": (3, 3, 3), "venturi39": (3, 2, 2), "venturi40": (3, 3, 3),
    "fahrenheit_g1": (1, 1, 1),
}
# scenario -> (ICANS lt12 rule, ICANS le12 rule, CRES 0-2 default, CRES 0-1 option); CRES has
# no grade 5
NEURO = {
    "none": (0, 0, 0, 0), "ice8": (1, 1, 1, 1), "ice5": (2, 2, 2, 2), "ice2": (3, 3, 3, 2),
    "ice0_awake": (3, 3, 3, 3), "ice0_unarousable": (4, 4, 4, 4), "voice": (2, 2, 2, 2),
    "tactile": (3, 3, 2, 2), "seizure_focal": (3, 3, 3, 3), "seizure_status": (4, 4, 4, 4),
    "motor": (4, 4, 4, 4), "focal_oedema": (3, 3, 4, 4), "diffuse_oedema": (4, 4, 4, 4),
    "papilloedema2": (4, 4, 3, 3), "cartox2": (2, 2, 3, 2), "csf25": (1, 1, 4, 4),
    "icans_death": (5, 5, 3, 2), "child_capd5": (1, 1, 0, 0), "child_capd12": (3, 3, 0, 0),
    "age12": (1, 3, 1, 1),
}
_SYS = ("eln2022", "eln2017", "iwg2003", "nccn_all", "blinatumomab_trials")
# scenario -> day-28 marrow/counts and the intended category per system (order of _SYS)
RESPONSE = {
    "R1": (dict(bm=1, anc=2.0, plt=160, mrd=0.005),
           ("CR_MRD-", "CR_MRD-", "CR", "CR_MRD-", "CR_MRD-")),
    "R2": (dict(bm=2, anc=1.6, plt=130, mrd=0.5), ("CR", "CR", "CR", "CR", "CR")),
    "R3": (dict(bm=2, anc=1.8, plt=140, mrd=0.05), ("CR_MRD-", "CR_MRD-", "CR", "CR", "CR")),
    "R4": (dict(bm=2, anc=0.7, plt=60, mrd=0.02), ("CRh_MRD-", "MLFS", "MLFS", "CRi", "CRh*")),
    "R5": (dict(bm=3, anc=1.5, plt=40, mrd=0.3), ("CRi", "CRi", "CRi", "CRi", "CRi")),
    "R6": (dict(bm=1, anc=0.3, plt=20, mrd=0.005, spicules="yes"),
           ("MLFS", "MLFS", "MLFS", "CRi_MRD-", "NR")),
    "R7": (dict(bm=0.5, anc=0.1, plt=8, spicules="no", cells=80, cellularity=5, no_d14=True),
           ("NE", "NE", "NE", "CRi", "NR")),
    "R8": (dict(bm=15, anc=1.5, plt=120), ("PR", "PR", "PR", "NR", "NR")),
    "R9": (dict(bm=45, anc=0.8, plt=30), ("NR", "NR", "NR", "NR", "NR")),
    "R10": (dict(bm=2, anc=1.0, plt=150, mrd=0.001, anc_unit="cells/µL"),
            ("CR_MRD-", "CR_MRD-", "CRi", "CRi_MRD-", "CRh*_MRD-")),
    "R11": (dict(bm=2, anc=2.0, plt=100, mrd=0.2), ("CR", "CR", "CRi", "CRi", "CRh*")),
    "R12": (dict(bm=2, anc=0.5, plt=60, mrd=0.3), ("CRh", "MLFS", "MLFS", "CRi", "NR")),
    "R13": (dict(bm=3, anc=1.9, plt=150, auer="yes", mrd=0.4), ("CR", "NR", "NR", "CR", "CR")),
    "R14": (dict(bm=5, anc=2.0, plt=150, mrd=0.5), ("PR", "PR", "PR", "NR", "CR")),
    "R15": (dict(bm=1, anc=2.0, plt=150, emd="yes", mrd=0.5), ("NR", "NR", "NR", "NR", "NR")),
    "R16": (dict(bm=1, anc=2.0, plt=150, rbc="yes", mrd=0.5), ("CR", "CR", "CRi", "CR", "CR")),
    "R17": (dict(bm=25, anc=1.2, plt=90, d14_cr=True), ("CR", "CR", "CR", "CR", "CR")),
    "R18": (dict(bm=1, anc=1.9, plt=150, mrd=0.5, d14_cr=True, pb_relapse=True),
            ("CR", "CR", "CR", "CR", "CR")),
    "R19": (dict(early_death=True), ("NE", "NE", "NE", "NE", "NE")),
    "R20": (dict(bm=1, anc=2.0, plt=150, mrd_status="negative"),
            ("CR_MRD-", "CR_MRD-", "CR", "CR_MRD-", "CR_MRD-")),
    "R21": (dict(bm=2, anc=1.2, plt=30, mrd=0.005),
            ("CRi_MRD-", "CRi", "CRi", "CRi_MRD-", "CRi_MRD-")),
}
EARLY = ("e0", "e1", "e2", "e3", "e4b", "e3b", "e_joined", "e_cum", "e_gap")
LATE = ("L0", "L1", "L2", "L3", "L4", "L_single")
PLT = (160.0, 100.0, 60.0, 30.0, 10.0)  # nadirs: CTCAE 0 (LLN 150), 1, 2, 3, 4
HB = (12.5, 10.5, 9.0, 7.5)  # g/dL nadirs: CTCAE 0 (LLN 12), 1, 2, 3
LYMPH = (1.2, 0.9, 0.6, 0.3, 0.1)  # ×10⁹/L nadirs: CTCAE 0 (LLN 1.0), 1, 2, 3, 4
#: Lower limits of normal used for CTCAE grade 1 (stated in the README).
LLN = {"anc": 1.8, "platelets": 150.0, "wbc": 4.0, "lymphocytes": 1.0, "hemoglobin": 12.0}
#: Deliberate recorded-vs-derived discordances (documented in the README).
DISCORDANT = {"P012": ("crs_grade", 2)}


def assignments() -> pd.DataFrame:
    """The scenario of every patient (deterministic)."""
    rows = [
        ("g5", "none", "e_early_death", "R19", 8, "CRS"),
        ("g2_hypo", "icans_death", "e_early_death", "R19", 12, "ICANS"),
        ("none", "none", "e4a", "R6", None, None),
        ("g1", "ice8", "e4a", "R7", None, None),
        ("g2_lowflow", "ice5", "e3", "R12", None, None),
    ]
    crs_rest = [k for k in CRS if k != "g5"]
    neuro_rest = [k for k in NEURO if k not in ("icans_death",)]
    resp_rest = [k for k in RESPONSE if k not in ("R19", "R6", "R7", "R12")]
    for i in range(N - len(rows)):
        rows.append((crs_rest[(i + 5) % len(crs_rest)], neuro_rest[(i + 1) % len(neuro_rest)],
                     EARLY[i % len(EARLY)], resp_rest[i % len(resp_rest)], None, None))
    df = pd.DataFrame(rows, columns=["crs", "neuro", "early", "resp", "death_day",
                                     "death_cause"])
    df.insert(0, "patient_id", [f"P{i + 1:03d}" for i in range(N)])
    df["late"] = [LATE[i % len(LATE)] for i in range(N)]
    df["plt"] = [PLT[i % len(PLT)] for i in range(N)]
    df["hb"] = [HB[i % len(HB)] for i in range(N)]
    df["lymph"] = [LYMPH[(i + 2) % len(LYMPH)] for i in range(N)]
    return df


def _anc_early(scn: str, rng: np.random.Generator) -> np.ndarray:
    """ANC ×10⁹/L for days 0..30 (NaN = not measured)."""
    a = np.round(rng.uniform(1.6, 3.0, 31), 2)
    low = lambda: np.round(rng.uniform(0.15, 0.45), 2)  # noqa: E731
    def set_(d0, d1, v=None):
        for d in range(d0, d1 + 1):
            a[d] = low() if v is None else v
    if scn == "e0":
        set_(5, 9, 0.7)
    elif scn == "e1":
        set_(3, 6)
    elif scn == "e2":
        set_(2, 11)
    elif scn == "e3":
        set_(1, 20)
    elif scn in ("e4a", "e_early_death"):
        set_(0, 30)
    elif scn == "e4b":
        set_(2, 17, 0.05)
    elif scn == "e3b":
        set_(2, 11)
        set_(3, 10, 0.08)
    elif scn == "e_joined":
        set_(2, 6)
        a[7:9] = 1.0
        set_(9, 13)
    elif scn == "e_cum":
        set_(2, 7)
        a[8:12] = 1.1
        set_(12, 17)
    elif scn == "e_gap":
        set_(2, 18)
        a[10:15] = np.nan
    return a


_LATE_DAYS = (35, 42, 49, 56, 63, 70, 77, 84, 91, 100)


def _anc_late(scn: str) -> np.ndarray:
    a = np.full(len(_LATE_DAYS), 2.0)
    pair = {"L1": (1.3, 1.4), "L2": (0.9, 0.95), "L3": (0.4, 0.45), "L4": (0.05, 0.08)}
    if scn in pair:
        a[2], a[4] = pair[scn]
    elif scn == "L_single":
        a[3] = 0.9
    return a


def _profile(nadir: float, base: float, days: np.ndarray) -> np.ndarray:
    """A count falling from ``base`` to ``nadir`` on days 5-12, recovering by day 20."""
    out = np.full(len(days), base)
    fall = (days >= 1) & (days < 5)
    out[fall] = base + (nadir - base) * (days[fall] / 5.0)
    out[(days >= 5) & (days <= 12)] = nadir
    rec = (days > 12) & (days < 20)
    out[rec] = nadir + (base - nadir) * ((days[rec] - 12) / 8.0)
    return out


def build(seed: int = SEED) -> dict[str, pd.DataFrame | str]:
    """All tables of the synthetic study."""
    rng = np.random.default_rng(seed)
    asg = assignments()
    obs: list[tuple] = []
    tx: list[tuple] = []
    ev: list[tuple] = []
    pts: list[dict] = []

    def o(pid, day, var, val, unit="category", time=""):
        obs.append((pid, int(day), time, var, val, unit))

    for i, s in asg.iterrows():
        pid = s.patient_id
        death = None if pd.isna(s.death_day) else int(s.death_day)
        last = death if death is not None else 100
        age = {"child_capd5": 8, "child_capd12": 10, "age12": 12}.get(
            s.neuro, int(rng.integers(24, 76)))
        crs_astct = CRS[s.crs][0]
        neuro_exp = NEURO[s.neuro]
        resp_spec, resp_exp = RESPONSE[s.resp]
        onset = 2 + i % 4
        # ---- vitals and CRS (days 0..30) ----
        temp = np.round(rng.uniform(36.4, 37.6, 31), 1)
        hypo = np.zeros(31, dtype=bool)
        device = np.array(["room_air"] * 31, dtype=object)
        flow = np.full(31, np.nan)
        fio2 = np.full(31, np.nan)
        press: dict[str, dict[int, float]] = {}
        fever_days = range(onset, onset + 4)
        key = s.crs
        if key not in ("none", "nofever_hypoxia"):
            short = key in ("g1", "fahrenheit_g1")
            for d in range(onset, onset + 2) if short else fever_days:
                temp[d] = np.round(rng.uniform(38.3, 39.6), 1)
        a, b = onset + 1, onset + 2
        if key == "g2_hypo":
            hypo[a:b + 1] = True
        elif key == "g2_lowflow":
            device[a:b + 1], flow[a:b + 1] = "nasal_cannula", 3.0
        elif key in ("nc6", "nc65"):
            device[a:b + 1], flow[a:b + 1] = "nasal_cannula", 6.0 if key == "nc6" else 6.5
        elif key == "g3_lowdose":
            hypo[a:b + 1] = True
            press["norepinephrine"] = {b: 5.0}
        elif key == "g3_highdose":
            hypo[a:b + 1] = True
            press["norepinephrine"] = {b: 25.0}
        elif key == "g3_hfnc":
            device[a:b + 1], flow[a:b + 1], fio2[a:b + 1] = "high_flow_nasal_cannula", 40.0, 50.0
        elif key == "g3_vaso":
            hypo[a:b + 1] = True
            press["norepinephrine"] = {b: 8.0}
            press["vasopressin"] = {b: 0.03}
        elif key in ("g4_2press", "g5"):
            hypo[a:b + 1] = True
            press["norepinephrine"] = {b: 15.0}
            press["phenylephrine"] = {b: 100.0}
        elif key in ("g4_vent", "g4_bipap"):
            device[a:b + 1] = "mechanical_ventilation" if key == "g4_vent" else "bipap"
            fio2[a:b + 1] = 60.0
        elif key == "nofever_hypoxia":
            device[5], flow[5] = "nasal_cannula", 2.0
        elif key == "toci_waiver":
            for d in range(onset, onset + 2):
                temp[d] = np.round(rng.uniform(38.3, 39.0), 1)
            for d in range(onset + 2, onset + 4):
                temp[d] = 37.2
            device[onset + 2:onset + 4], flow[onset + 2:onset + 4] = "nasal_cannula", 8.0
            tx.append((pid, "tocilizumab", onset + 1, onset + 1, 8.0, "mg/kg"))
        elif key in ("venturi39", "venturi40"):
            device[a:b + 1], fio2[a:b + 1] = "venturi", 39.0 if key == "venturi39" else 40.0
        if crs_astct >= 2 and key != "toci_waiver":
            tx.append((pid, "tocilizumab", b + 1, b + 1, 8.0, "mg/kg"))
        timed_fever = i == 10  # sustained-fever (febrile neutropenia) example on day 3
        for d in range(0, min(31, last + 1)):
            if key == "fahrenheit_g1":
                o(pid, d, "temperature", f"{temp[d] * 9 / 5 + 32:.1f}", "°F")
            elif timed_fever and d == 3:
                for t in ("08:00", "08:40", "09:20"):
                    o(pid, d, "temperature", "38.1", "°C", t)
            else:
                o(pid, d, "temperature", f"{temp[d]:.1f}", "°C")
            o(pid, d, "sbp", f"{(82 if hypo[d] else rng.integers(100, 135)):.0f}", "mmHg")
            o(pid, d, "hypotension", "yes" if hypo[d] else "no")
            o(pid, d, "oxygen_device", device[d])
            if not np.isnan(flow[d]):
                o(pid, d, "oxygen_flow", f"{flow[d]:g}", "L/min")
            if not np.isnan(fio2[d]):
                o(pid, d, "fio2", f"{fio2[d]:g}", "%")
            for agent, doses in press.items():
                if d in doses:
                    o(pid, d, agent, f"{doses[d]:g}", "U/min" if agent == "vasopressin"
                      else "µg/min")
        # ---- neurotoxicity ----
        nk = s.neuro
        child = nk in ("child_capd5", "child_capd12")
        ice = np.full(31, 10)
        cons = np.array(["alert"] * 31, dtype=object)
        n0 = onset + 3
        extra: list[tuple] = []
        cart = None
        if nk == "ice8":
            ice[n0:n0 + 2] = 8
        elif nk == "ice5":
            ice[n0:n0 + 3] = 5
        elif nk == "ice2":
            ice[n0:n0 + 3] = 2
        elif nk == "ice0_awake":
            ice[n0] = 0
        elif nk == "ice0_unarousable":
            ice[n0], cons[n0] = 0, "unarousable"
        elif nk == "voice":
            ice[n0], cons[n0] = 6, "awakens_to_voice"
        elif nk == "tactile":
            ice[n0], cons[n0] = 4, "awakens_to_tactile"
        elif nk == "seizure_focal":
            ice[n0] = 9
            extra.append((n0, "seizure", "focal_resolved", "category"))
        elif nk == "seizure_status":
            ice[n0] = 5
            extra.append((n0, "seizure", "status_epilepticus", "category"))
        elif nk == "motor":
            ice[n0] = 8
            extra.append((n0, "motor_weakness", "deep_focal_weakness", "category"))
        elif nk == "focal_oedema":
            ice[n0] = 7
            extra.append((n0, "icp_finding", "focal_oedema", "category"))
        elif nk == "diffuse_oedema":
            ice[n0] = 3
            extra.append((n0, "icp_finding", "diffuse_oedema", "category"))
        elif nk == "papilloedema2":
            ice[n0] = 8
            extra += [(n0, "icp_finding", "papilloedema", "category"),
                      (n0, "papilloedema_stage", "2", "points")]
        elif nk == "cartox2":
            ice[n0], cart = 3, (n0, 2)
        elif nk == "csf25":
            ice[n0] = 8
            extra.append((n0, "csf_opening_pressure", "25", "mmHg"))
        elif nk == "icans_death":
            ice[n0:last] = 2
        elif nk == "age12":
            ice[n0] = 9
            extra.append((n0, "capd_score", "11", "points"))
        for d in range(0, min(31, last + 1)):
            if child:
                capd = 0
                if d == n0:
                    capd = 5 if nk == "child_capd5" else 12
                o(pid, d, "capd_score", str(capd), "points")
            else:
                o(pid, d, "ice_score", str(int(ice[d])), "points")
                cval = cart[1] if cart is not None and cart[0] == d else int(ice[d])
                o(pid, d, "cartox10_score", str(cval), "points")
            o(pid, d, "consciousness", cons[d])
        for d, var, val, unit in extra:
            o(pid, d, var, val, unit)
        if neuro_exp[0] >= 2:
            tx.append((pid, "dexamethasone", n0 + 1, n0 + 3, 10.0, "mg"))
        # ---- blood counts ----
        early = _anc_early(s.early, rng)
        late = _anc_late(s.late)
        days_all = np.r_[np.arange(0, 31), _LATE_DAYS]
        anc = np.r_[early, late]
        plt = _profile(s.plt, 180.0, days_all)
        hb = _profile(s.hb, 12.8, days_all)
        lym = _profile(s.lymph, 1.4, days_all)
        ptx = np.zeros(len(days_all), dtype=bool)
        if s.plt <= 10:
            ptx[(days_all >= 6) & (days_all <= 9)] = True
        if not resp_spec.get("early_death"):
            win = (days_all >= 26) & (days_all <= 30)
            anc[win], plt[win] = resp_spec["anc"], resp_spec["plt"]
            if resp_spec.get("d14_cr"):
                w14 = (days_all >= 12) & (days_all <= 16)
                anc[w14], plt[w14] = 1.6, 120.0
        wbc = np.round(np.nan_to_num(anc, nan=1.0) + lym + 0.3, 2)
        anc_unit = "cells/µL" if (resp_spec.get("anc_unit") or i % 7 == 3) else "10^9/L"
        hb_unit = "g/L" if i % 5 == 1 else ("mmol/L" if i == 7 else "g/dL")
        base_anc = 1.6 if i % 3 == 0 else 2.4
        o(pid, -5, "anc", f"{base_anc * 1000:.0f}" if anc_unit == "cells/µL" else f"{base_anc}",
          anc_unit)
        o(pid, -5, "platelets", "190", "10^9/L")
        for k, d in enumerate(days_all):
            if d > last:
                break
            if not np.isnan(anc[k]):
                val = f"{anc[k] * 1000:.0f}" if anc_unit == "cells/µL" else f"{anc[k]:.3g}"
                o(pid, d, "anc", val, anc_unit)
            o(pid, d, "platelets", f"{plt[k]:.0f}", "10^9/L")
            if hb_unit == "g/L":
                o(pid, d, "hemoglobin", f"{hb[k] * 10:.0f}", "g/L")
            elif hb_unit == "mmol/L":
                o(pid, d, "hemoglobin", f"{hb[k] / 1.611:.2f}", "mmol/L")
            else:
                o(pid, d, "hemoglobin", f"{hb[k]:.1f}", "g/dL")
            o(pid, d, "wbc", f"{wbc[k]:.2f}", "10^9/L")
            o(pid, d, "lymphocytes", f"{lym[k]:.2f}", "10^9/L")
            if ptx[k]:
                o(pid, d, "platelet_transfusion", "yes")
        # ---- marrow assessments ----
        baseline_bm = float(rng.integers(30, 81))
        o(pid, -5, "marrow_blasts", f"{baseline_bm:g}", "%")
        if not resp_spec.get("early_death"):
            if resp_spec.get("d14_cr"):
                o(pid, 14, "marrow_blasts", "1", "%")
                o(pid, 14, "peripheral_blasts", "0", "%")
                o(pid, 14, "extramedullary_disease", "no")
            elif not resp_spec.get("no_d14"):
                o(pid, 14, "marrow_blasts", f"{max(0.6 * baseline_bm, 26):.0f}", "%")
            o(pid, 28, "marrow_blasts", f"{resp_spec['bm']:g}", "%")
            o(pid, 28, "peripheral_blasts", "0", "%")
            o(pid, 28, "extramedullary_disease", resp_spec.get("emd", "no"))
            if "auer" in resp_spec:
                o(pid, 28, "auer_rods", resp_spec["auer"])
            if "mrd" in resp_spec:
                o(pid, 28, "mrd", f"{resp_spec['mrd']:g}", "%")
            if "mrd_status" in resp_spec:
                o(pid, 28, "mrd_status", resp_spec["mrd_status"])
            if "spicules" in resp_spec:
                o(pid, 28, "marrow_spicules", resp_spec["spicules"])
            if "cells" in resp_spec:
                o(pid, 28, "marrow_cells_counted", str(resp_spec["cells"]), "cells")
                o(pid, 28, "marrow_cellularity", str(resp_spec["cellularity"]), "%")
            if "rbc" in resp_spec:
                o(pid, 27, "rbc_transfusion", "yes")
            if resp_spec.get("pb_relapse"):
                o(pid, 60, "peripheral_blasts", "3", "%")
                o(pid, 70, "peripheral_blasts", "8", "%")
            ev.append((pid, 28, "response_assessment", resp_exp[0], "ELN 2022"))
        # ---- kinetics and cytokines ----
        responder = resp_exp[0] not in ("NR", "NE")
        sev = min(crs_astct, 4)
        cmax = 10 ** (3.4 + 0.35 * sev + 0.4 * responder + rng.normal(0, 0.25))
        tmax = float(np.clip(rng.normal(10, 1.5), 7, 14))
        foldx = float(10 ** rng.uniform(2.8, 3.8))
        alpha = float(rng.uniform(0.12, 0.25))
        fb = float(rng.uniform(0.005, 0.03))
        beta = 0.004
        for d in (0, 1, 4, 7, 9, 11, 14, 21, 28, 42, 56, 84, 100):
            if d > last:
                break
            if d == 0:
                c = 0.0
            elif d < tmax:
                c = cmax / foldx * np.exp(np.log(foldx) / tmax * d)
            else:
                c = cmax * ((1 - fb) * np.exp(-alpha * (d - tmax)) + fb * np.exp(-beta * (
                    d - tmax)))
            c *= float(np.exp(rng.normal(0, 0.2)))
            o(pid, d, "car_copies", "0" if c < LLOQ else f"{c:.4g}", "copies/µg")
        il6_peak = 10 ** (1.0 + 0.45 * sev + rng.normal(0, 0.2))
        ferr_base = float(rng.uniform(300, 900))
        for d in (-1, 1, 3, 5, 7, 10, 14, 21, 28):
            if d > last:
                break
            near = np.exp(-abs(d - (onset + 1)) / 2.5) if d >= 0 else 0.0
            il6 = 4.0 + il6_peak * near * float(np.exp(rng.normal(0, 0.1)))
            unit = "ng/L" if i % 6 == 2 else "pg/mL"
            o(pid, d, "il6", f"{il6:.4g}", unit)
            o(pid, d, "ifng", f"{2.0 + il6 / 3:.4g}", "pg/mL")
            o(pid, d, "ferritin", f"{ferr_base * (1 + sev * near):.4g}", "ng/mL")
            o(pid, d, "crp", f"{3 + 20 * sev * near:.3g}", "mg/L")
        # ---- treatments, events, patient row ----
        for agent in ("fludarabine", "cyclophosphamide"):
            tx.append((pid, agent, -5, -3, None, None))
        tx.append((pid, "SYN CAR-T", 0, 0, None, None))
        if death is not None:
            ev.append((pid, death, "death", s.death_cause, ""))
        else:
            ev.append((pid, 100, "last_contact", "", ""))
        if s.resp == "R17":
            ev.append((pid, 28, "relapse", "", "marrow blasts"))
        if s.resp == "R18":
            ev.append((pid, 60, "relapse", "", "circulating blasts"))
        rec = {"patient_id": pid, "age": age, "sex": "F" if rng.random() < 0.45 else "M",
               "weight_kg": round(float(rng.uniform(45, 95)) if age >= 12 else 20.0 + 2 * age,
                                  1),
               "arm": "A" if i % 2 == 0 else "B", "diagnosis": "AML (synthetic)",
               "crs_grade": crs_astct, "icans_grade": neuro_exp[0],
               "best_response": resp_exp[0]}
        if death is not None:
            rec["death_day"] = death
            rec["death_cause"] = s.death_cause
        rec["last_contact_day"] = last
        if pid in DISCORDANT:
            col, val = DISCORDANT[pid]
            rec[col] = val
        pts.append(rec)

    observations = pd.DataFrame(obs, columns=["patient_id", "day", "time", "variable", "value",
                                              "unit"])
    treatments = pd.DataFrame(tx, columns=["patient_id", "agent", "start_day", "end_day", "dose",
                                           "dose_unit"])
    events = pd.DataFrame(ev, columns=["patient_id", "day", "event", "value", "detail"])
    patients = pd.DataFrame(pts)
    for c in ("death_day", "last_contact_day"):
        patients[c] = patients[c].astype("Int64")
    return {"patients": patients, "observations": observations, "treatments": treatments,
            "events": events, "assignments": asg}


STUDY_TOML = """format = 1

[study]
name = "SYNTHETIC two-arm CAR-T study (raw longitudinal data; not real patients)"
disease = "AML"
products = ["SYN CAR-T"]
day0 = "CAR-T infusion"
reference = "Generated by scripts/make_synthetic_cart.py (seed {seed})"
synthetic = true

[cohorts]
label = "Arm"
column = "arm"
levels = [
  {{ name = "A", value = "A", label = "Arm A" }},
  {{ name = "B", value = "B", label = "Arm B" }},
]

[criteria]
response = "eln2022"
crs = "astct2019"
neurotoxicity = "icans_astct2019"
adverse_events = "ctcae_v5"
cytopenia = "icaht_2023"

[response]
assessment_day = 28
responders = ["CR_MRD-", "CR", "CRh_MRD-", "CRh", "CRi_MRD-", "CRi", "MLFS", "PR"]
complete = ["CR_MRD-", "CR", "CRh_MRD-", "CRh", "CRi_MRD-", "CRi"]
mrd_negative = ["CR_MRD-", "CRh_MRD-", "CRi_MRD-"]

[endpoints.os]
censor_at = []
"""


def write(outdir: Path, seed: int = SEED) -> None:
    """Write the study folder (CSV, UTF-8)."""
    t = build(seed)
    outdir.mkdir(parents=True, exist_ok=True)
    for name in ("patients", "observations", "treatments", "events"):
        t[name].to_csv(outdir / f"{name}.csv", index=False, lineterminator="\n")
    (outdir / "study.toml").write_text(STUDY_TOML.format(seed=seed))


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else (
        Path(__file__).resolve().parents[1] / "examples" / "synthetic-cart-raw")
    write(out)
    print(f"wrote {out}")
