"""Run every lab analysis whose input is present in a lab folder (docs/lab-formats.md)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from remission.errors import InputError, Problem
from remission.lab import apoptosis, doseresponse, qpcr, rnaseq, synergy
from remission.lab.enrichment import builtin_genesets, read_gmt
from remission.lab.formats import (
    read_counts,
    read_ct_table,
    read_flow_quadrants,
    read_plate_map,
    read_plate_table,
    read_synergy_matrix,
)
from remission.results import Result

__all__ = ["analyse_folder", "read_config"]

FILES = {
    "doseresponse": "doseresponse.csv",
    "qpcr": "qpcr.csv",
    "apoptosis": "apoptosis.csv",
    "synergy": "synergy.csv",
    "counts": "rnaseq_counts.csv",
    "samples": "rnaseq_samples.csv",
}

ALLOWED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "lab": {"name": str, "synthetic": bool, "control_group": str},
    "doseresponse": {"model": str, "reference": str, "dose_unit": str, "conf": (int, float),
                     "normalise_to_vehicle": bool, "absolute_level": (int, float),
                     "fix_lower": (int, float), "fix_upper": (int, float)},
    "qpcr": {"reference_genes": list, "control_group": str, "efficiencies": dict,
             "sd_threshold": (int, float), "equal_var": bool},
    "apoptosis": {"control_group": str, "equal_var": bool, "seed": int},
    "synergy": {"response_type": str, "n_boot": int, "seed": int,
                "conf": (int, float)},
    "rnaseq": {"control_group": str, "treatment_group": str, "alpha": (int, float),
               "lfc_threshold": (int, float), "highlight": list, "genesets": list,
               "builtin_genesets": bool},
}


def lab_folder(path: Path) -> Path:
    """The folder holding the assay tables of a lab or study folder.

    Parameters
    ----------
    path : Path
        A lab folder, or a study folder with a ``lab/`` subfolder.

    Returns
    -------
    Path
        ``path`` itself, or its ``lab/`` subfolder when ``path`` has one and no assay table
        at the top.

    Examples
    --------
    >>> lab_folder(Path("examples/synthetic-lab")).name
    'synthetic-lab'
    """
    if (path / "lab").is_dir() and not any((path / f).exists() for f in FILES.values()):
        return path / "lab"
    return path


def read_config(folder: Path) -> dict[str, dict[str, Any]]:
    """Read and check ``lab.toml`` (optional); unknown sections and keys are errors.

    Parameters
    ----------
    folder : Path
        The lab folder.

    Returns
    -------
    dict of str to dict
        Section -> settings as written; ``{}`` when there is no ``lab.toml``.

    Raises
    ------
    InputError
        Every problem at once: invalid TOML, unknown sections or keys, wrong types,
        invalid choices (``model``, ``response_type``), levels outside (0, 1), negative
        ``n_boot``.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> read_config(d)
    {}
    >>> _ = (d / "lab.toml").write_text('[apoptosis]\\ncontrol_group = "ctl"\\ncolour = "red"\\n')
    >>> try:
    ...     read_config(d)
    ... except InputError as e:
    ...     print([(p.message, p.value) for p in e.problems])
    [('unknown key in [apoptosis]', 'colour')]
    """
    p = folder / "lab.toml"
    if not p.exists():
        return {}
    try:
        cfg = tomllib.loads(p.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError([Problem(str(p), f"not valid TOML: {exc}")]) from None
    probs = []
    for sec, body in cfg.items():
        if sec not in ALLOWED:
            probs.append(Problem(str(p), "unknown section", value=sec,
                                 expected=f"one of {', '.join(ALLOWED)}"))
            continue
        if not isinstance(body, dict):
            probs.append(Problem(str(p), "section must be a table", value=sec))
            continue
        for k, v in body.items():
            if k not in ALLOWED[sec]:
                probs.append(Problem(str(p), f"unknown key in [{sec}]", value=k,
                                     expected=f"one of {', '.join(ALLOWED[sec])}"))
            elif not isinstance(v, ALLOWED[sec][k]) or (isinstance(v, bool) and
                                                        ALLOWED[sec][k] is not bool):
                probs.append(Problem(str(p), f"wrong type for [{sec}] {k}", value=v))
    choices = {("doseresponse", "model"): ("LL.4", "LL.3"),
               ("synergy", "response_type"): ("inhibition", "viability")}
    for (sec, k), allowed in choices.items():
        v = cfg.get(sec, {}).get(k)
        if v is not None and v not in allowed:
            probs.append(Problem(str(p), f"invalid [{sec}] {k}", value=v,
                                 expected=" or ".join(allowed)))
    for sec, k in (("doseresponse", "conf"), ("synergy", "conf"), ("rnaseq", "alpha")):
        v = cfg.get(sec, {}).get(k)
        if isinstance(v, int | float) and not 0 < v < 1:
            probs.append(Problem(str(p), f"[{sec}] {k} must lie strictly between 0 and 1",
                                 value=v))
    v = cfg.get("synergy", {}).get("n_boot")
    if isinstance(v, int) and v < 0:
        probs.append(Problem(str(p), "[synergy] n_boot must be >= 0", value=v))
    if probs:
        raise InputError(probs)
    return cfg


def analyse_folder(path: str | Path) -> tuple[list[Result], list[Figure]]:
    """Analyse every lab input present in a lab folder (or a study folder's ``lab/``).

    Each recognised table (dose–response, qPCR, apoptosis, synergy, RNA-seq; see
    docs/lab-formats.md) is read, analysed with the settings of ``lab.toml`` and drawn.

    Parameters
    ----------
    path : str or Path
        The lab folder or a study folder with ``lab/``.

    Returns
    -------
    tuple of (list of Result, list of Figure)
        Results (section ``"lab"``) and Figures tagged ``remission_name``.

    Raises
    ------
    InputError
        All input problems across all files, collected into one error.

    Examples
    --------
    Only an apoptosis table: ctl 9 % and 11 %, ven 45 % and 44 % apoptotic; R
    ``t.test(c(45, 44), c(9, 11))`` gives t = 30.857738:

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "apoptosis.csv").write_text(
    ...     "sample,group,q_viable,q_early,q_late,q_necrotic\\ns1,ctl,900,50,40,10\\n"
    ...     "s2,ctl,880,60,50,10\\ns3,ven,500,300,150,50\\ns4,ven,520,280,160,40\\n")
    >>> results, figures = analyse_folder(d)
    >>> [r.name for r in results]
    ['lab.apoptosis.samples', 'lab.apoptosis.summary', 'lab.apoptosis.tests']
    >>> round(float(results[2].table["statistic"].iloc[0]), 6)
    30.857738
    """
    folder = lab_folder(Path(path))
    if not folder.is_dir():
        raise InputError([Problem(str(folder), "lab folder not found")])
    probs: list[Problem] = []
    try:
        cfg = read_config(folder)
    except InputError as e:
        raise InputError(e.problems) from None
    lab = cfg.get("lab", {})
    default_ctl = lab.get("control_group")
    jobs: list[tuple[str, Any]] = []

    def attempt(fn, *a, **k):
        try:
            return fn(*a, **k)
        except InputError as e:
            probs.extend(e.problems)
            return None

    dr_cfg = cfg.get("doseresponse", {})
    plates = []
    if (folder / FILES["doseresponse"]).exists():
        plates.append(attempt(read_plate_table, folder / FILES["doseresponse"]))
    pdir = folder / "plates"
    if pdir.is_dir():
        for lay in sorted(pdir.glob("*_layout.csv")):
            name = lay.name[: -len("_layout.csv")]
            rd = pdir / f"{name}_readings.csv"
            plates.append(attempt(read_plate_map, lay, rd, plate=name,
                                  dose_unit=dr_cfg.get("dose_unit", "")))
    plates = [x for x in plates if x is not None]
    if plates:
        import pandas as pd

        dr = pd.concat(plates, ignore_index=True)
        if dr_cfg.get("normalise_to_vehicle"):
            try:
                dr = doseresponse.normalise_to_vehicle(dr)
            except ValueError as exc:
                probs.append(Problem(str(folder / FILES["doseresponse"]), str(exc),
                                     column="dose", expected="vehicle wells with dose 0"))
                dr = None
        if dr is not None:
            jobs.append(("doseresponse", dr))
    q_cfg = cfg.get("qpcr", {})
    if (folder / FILES["qpcr"]).exists():
        refs = q_cfg.get("reference_genes")
        if not refs:
            probs.append(Problem(str(folder / "lab.toml"), "qpcr.csv present but no "
                                 "reference genes named", column="[qpcr] reference_genes",
                                 expected='e.g. reference_genes = ["GAPDH", "ACTB"]'))
        else:
            ct = attempt(read_ct_table, folder / FILES["qpcr"], refs)
            if ct is not None:
                jobs.append(("qpcr", ct))
    if (folder / FILES["apoptosis"]).exists():
        fl = attempt(read_flow_quadrants, folder / FILES["apoptosis"])
        if fl is not None:
            jobs.append(("apoptosis", fl))
    if (folder / FILES["synergy"]).exists():
        sy = attempt(read_synergy_matrix, folder / FILES["synergy"])
        if sy is not None:
            jobs.append(("synergy", sy))
    r_cfg = cfg.get("rnaseq", {})
    if (folder / FILES["counts"]).exists() or (folder / FILES["samples"]).exists():
        ctl = r_cfg.get("control_group", default_ctl)
        trt = r_cfg.get("treatment_group")
        if not ctl or not trt:
            probs.append(Problem(str(folder / "lab.toml"), "RNA-seq needs control and "
                                 "treatment groups", column="[rnaseq]",
                                 expected='control_group = "..." and treatment_group = "..."'))
        else:
            cs = attempt(read_counts, folder / FILES["counts"], folder / FILES["samples"],
                         groups=[ctl, trt])
            if cs is not None:
                jobs.append(("rnaseq", cs))
    gs = builtin_genesets() if r_cfg.get("builtin_genesets", True) else {}
    for g in r_cfg.get("genesets", []):
        got = attempt(read_gmt, folder / g)
        if got:
            gs.update(got)
    if probs:
        raise InputError(probs)
    if not jobs:
        raise InputError([Problem(str(folder), "no lab input files found",
                                  expected=", ".join(FILES.values()) + " or plates/")])
    results: list[Result] = []
    figures: list[Figure] = []
    for kind, data in jobs:
        try:
            _run(kind, data, cfg, default_ctl, gs, results, figures)
        except (ValueError, KeyError) as exc:  # a setting that does not fit the data
            probs.append(Problem(str(folder / "lab.toml"), f"{kind}: {exc}",
                                 column=f"[{kind}]"))
    if probs:
        raise InputError(probs)
    if lab.get("synthetic"):
        results = [_mark_synthetic(r) for r in results]
    return results, figures


def _run(kind: str, data: Any, cfg: dict, default_ctl: str | None, gs: dict,
         results: list[Result], figures: list[Figure]) -> None:
    """Run one analysis; settings come from lab.toml sections."""
    dr_cfg, q_cfg, r_cfg = (cfg.get(k, {}) for k in ("doseresponse", "qpcr", "rnaseq"))
    if kind == "doseresponse":
        model = dr_cfg.get("model", "LL.4")
        fix = {"lower": dr_cfg.get("fix_lower"), "upper": dr_cfg.get("fix_upper")}
        dr = doseresponse.dose_response_results(
            data, model=model, reference=dr_cfg.get("reference", default_ctl),
            conf=dr_cfg.get("conf", 0.95), absolute_level=dr_cfg.get("absolute_level"),
            **fix)
        results += dr
        figures.append(doseresponse.plot_dose_response(data, dr[0]))
    elif kind == "qpcr":
        ctl = q_cfg.get("control_group", default_ctl) or str(data["group"].iloc[0])
        kw = {"efficiencies": q_cfg.get("efficiencies")}
        results += qpcr.qpcr_results(data, q_cfg["reference_genes"], ctl,
                                     equal_var=q_cfg.get("equal_var", False),
                                     sd_threshold=q_cfg.get("sd_threshold", 0.3), **kw)
        figures.append(qpcr.plot_qpcr(data, q_cfg["reference_genes"], ctl, **kw))
    elif kind == "apoptosis":
        a_cfg = cfg.get("apoptosis", {})
        results += apoptosis.apoptosis_results(
            data, control=a_cfg.get("control_group", default_ctl),
            equal_var=a_cfg.get("equal_var", False), seed=a_cfg.get("seed", 20261123))
        figures.append(apoptosis.plot_apoptosis(data))
    elif kind == "synergy":
        s_cfg = cfg.get("synergy", {})
        rt = s_cfg.get("response_type", "inhibition")
        results += synergy.synergy_results(data, response_type=rt,
                                           n_boot=s_cfg.get("n_boot", 200),
                                           seed=s_cfg.get("seed", 20261123),
                                           conf=s_cfg.get("conf", 0.95))
        figures += synergy.plot_synergy(data, response_type=rt)
    elif kind == "rnaseq":
        counts, sheet = data
        hl = tuple(r_cfg.get("highlight", rnaseq.HIGHLIGHT))
        res = rnaseq.rnaseq_results(
            counts, sheet, r_cfg.get("control_group", default_ctl),
            r_cfg["treatment_group"], genesets=gs, highlight=hl,
            alpha=r_cfg.get("alpha", 0.05), lfc_threshold=r_cfg.get("lfc_threshold", 1.0))
        results += res
        figures += [rnaseq.plot_volcano(res[0].table, hl), rnaseq.plot_ma(res[0].table, hl)]


def _mark_synthetic(r: Result) -> Result:
    from dataclasses import replace

    return replace(r, warnings=("SYNTHETIC data (lab.toml [lab] synthetic = true): not an "
                                "experiment", *r.warnings))
