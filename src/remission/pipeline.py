"""The main job: study folder -> analysis datasets -> Results -> ReportBundle.

Interfaces (CLI, future web app) call these functions and nothing else.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from remission import __version__
from remission.analyses import Analysis
from remission.core.bundle import FigureItem, ReportBundle, StudyInfo
from remission.core.identity import identity_of
from remission.derive.adae import derive_adae
from remission.derive.adsl import derive_adsl
from remission.progress import step
from remission.results import Result, ResultSet
from remission.stats import descriptive, response, toxicity
from remission.study import Study, load_study
from remission.study.config import CRITERIA_LABELS

if TYPE_CHECKING:
    from remission.report.background import BackgroundFigures

CONTINUOUS = {
    "age": "Age, years", "weight_kg": "Weight, kg", "prior_lines": "Prior lines of therapy",
    "baseline_burden_pct": "Disease burden before CAR-T, %",
    "cll1_positivity_pct": "CLL-1 positivity, %", "cd123_positivity_pct": "CD123 positivity, %",
    "cd19_positivity_pct": "CD19 positivity, %", "transduction_pct": "Transduction rate, %",
}
CATEGORICAL = {"sex": "Sex", "cns_leukemia": "CNS leukaemia",
               "extramedullary": "Extramedullary disease"}


def analyse(study: Study, figures: bool = True,
            background: bool | BackgroundFigures = False) -> Analysis:
    """Every standard analysis of a validated study.

    Parameters
    ----------
    study : Study
        From :func:`remission.study.load_study`.
    figures : bool
        Draw the figures too (False is faster and enough for numbers and the audit).
    background : bool or BackgroundFigures
        Draw the clinical figures in a second process while the tables are computed
        (:class:`remission.report.background.BackgroundFigures`, started here if True;
        ``remission report`` uses it). Their ``figure`` is then a ``DeferredFigure``
        that the report renderers turn into the same SVG bytes; a library caller that
        wants matplotlib Figures keeps the default.

    Returns
    -------
    Analysis
        ``study``, the derived ``adsl`` and ``adae`` datasets, ``results`` (a
        :class:`~remission.results.ResultSet` keyed by names such as ``"response.rates"``,
        ``"safety.crs"``, ``"survival.km"``) and ``figures``.

    Examples
    --------
    >>> from remission.study import load_study
    >>> a = analyse(load_study("examples/cll1-post-hsct"), figures=False)
    >>> int(a.results["safety.crs"].cell("grade >= 3 | Overall", "n"))
    5
    """
    adsl = derive_adsl(study)
    deferred = None
    if figures and background is not False:  # hand over now: the figures need only adsl
        if background is True:
            from remission.report.background import BackgroundFigures as _Bg

            background = _Bg()
        specs = clinical_figure_specs(adsl, study)
        deferred = background.submit([draw for *_, draw in specs])
    adae = derive_adae(adsl, study.tables.get("adverse_events"))
    cfg = study.config
    ordered = bool(cfg.cohorts and cfg.cohorts.ordered)
    rs = ResultSet()
    step("baseline, response and toxicity tables")
    cont = [c for c in CONTINUOUS if c in adsl and adsl[c].notna().any()]
    cat = [c for c in CATEGORICAL if c in adsl]
    labels = {**CONTINUOUS, **CATEGORICAL}
    rs.extend(descriptive.table1(adsl, cont, cat, labels, study.decimals))
    if "BOR" in adsl and (adsl["BOR"] != "").any():
        rs.add(response.response_categories(adsl))
        rs.extend(response.response_rates(
            adsl, ordered=ordered,
            system=CRITERIA_LABELS.get(cfg.criteria.get("response", "as_recorded"), "")))
    crs_sys = CRITERIA_LABELS.get(cfg.criteria.get("crs", "as_recorded"), "as recorded")
    ntx_sys = CRITERIA_LABELS.get(cfg.criteria.get("neurotoxicity", "as_recorded"),
                                  "as recorded")
    if adsl["CRSGR"].notna().any():
        rs.add(toxicity.grade_distribution(adsl, "CRSGR", "safety.crs",
                                           "Cytokine release syndrome by maximum grade",
                                           crs_sys, ordered))
    if adsl["NTXGR"].notna().any():
        rs.add(toxicity.grade_distribution(adsl, "NTXGR", "safety.neurotox",
                                           "Neurotoxicity by maximum grade", ntx_sys, ordered))
    summary = study.tables.get("adverse_events_summary")
    if study.tables.get("adverse_events") is not None:
        rs.add(toxicity.ae_table_from_records(
            adae[adae["SOURCE"] == "adverse_events"], study.n))
    elif summary is not None:
        rs.add(toxicity.ae_table_from_summary(summary, study.n))
    eg = toxicity.engraftment_gvhd(adsl)
    if eg is not None:
        rs.add(eg)
    rs.add(_subject_listing(adsl))
    analysis = Analysis(study, adsl, adae, rs)
    if deferred is not None:
        analysis.figures = [FigureItem(name, title, caption, section, fig)
                            for (name, title, caption, section, _), fig in zip(specs, deferred,
                                                                            strict=True)]
    elif figures:
        step("drawing clinical figures")
        analysis.figures = clinical_figures(analysis)
    if cfg.endpoints and study.tables.get("events") is not None:
        step("survival endpoints")
        surv_results, surv_figures = _survival_analyses(study, adsl, figures=figures)
        rs.extend(surv_results)
        analysis.figures.extend(surv_figures)
    if study.tables.get("observations") is not None:
        # grades, responses and kinetics derived from raw bedside and laboratory data
        from remission.analyses.raw import analyse_raw

        step("grading raw observations (CRS, ICANS, cytopenia, response, kinetics)")
        raw_results, raw_figures = analyse_raw(study, adsl, figures=figures)
        rs.extend(raw_results)
        analysis.figures.extend(raw_figures)
    return analysis


def _survival_analyses(study: Study, adsl: pd.DataFrame, figures: bool = True
                      ) -> tuple[list[Result], list[FigureItem]]:
    """Endpoints named in study.toml ``[endpoints.*]``: ADTTE, then Kaplan-Meier by cohort
    with the log-rank test, or cumulative incidence of relapse with Gray's test."""
    from dataclasses import replace

    from remission.stats.survival.endpoints import PARAMS, derive_endpoints, endpoint_results

    cfg = study.config
    group = adsl.set_index("USUBJID")["COHORT"]
    grouped = group.nunique() > 1
    # figures show the study's labels, in study.toml order (results keep the codes)
    order = adsl.drop_duplicates("COHORT").sort_values("COHORTN", kind="stable")
    names = {str(c): str(lab) if isinstance(lab, str) and lab.strip() else str(c)
             for c, lab in zip(order["COHORT"], order["COHORTL"], strict=True)}
    label_order = list(dict.fromkeys(names.values()))
    group_labels = group.astype(str).map(names)
    results: list[Result] = []
    figs: list[FigureItem] = []
    for name, spec in cfg.endpoints.items():
        code = name.upper()
        adtte = derive_endpoints(
            study.tables["events"], endpoints=[code], patients=study.patients,
            censor_at_transplant="transplant" in spec.get("censor_at", []),
            landmark=spec.get("landmark"), complete=cfg.complete, responders=cfg.responders,
            source=study.sources.get("events", "events.csv"))
        if adtte.empty:
            continue
        warn = tuple(adtte.attrs.get("warnings", ()))
        for r in endpoint_results(adtte, code, group if grouped else None,
                                  landmarks=spec.get("landmarks", ()), section="survival"):
            results.append(replace(r, warnings=(*r.warnings, *warn)))
        if figures:
            from remission.plot.survival import cif_figure, default_ticks, km_figure
            from remission.survival import cif_curves, kaplan_meier, km_curves

            # the figure draws the curves computed here, by the study's labels
            g = adtte["USUBJID"].map(group_labels).to_numpy(object) if grouped else None
            ticks = default_ticks(float(adtte["AVAL"].max()))
            if code == "CIR":
                fig = cif_figure(cif_curves(adtte["AVAL"], adtte["EVCODE"], g, end=True,
                                            risk_times=ticks),
                                 order=label_order, title=PARAMS[code])
            else:
                medians = kaplan_meier(adtte["AVAL"], 1 - adtte["CNSR"], g).table["median"]
                fig = km_figure(km_curves(adtte["AVAL"], 1 - adtte["CNSR"], g,
                                          risk_times=ticks),
                                order=label_order, medians=medians.to_dict(),
                                title=PARAMS[code])
            by = cfg.cohorts.label.lower() if cfg.cohorts else "group"
            figs.append(FigureItem(f"fig.{name}", PARAMS[code],
                                   f"{PARAMS[code]} by {by}; numbers at risk below the axis; "
                                   "+ marks censoring.", "survival", fig))
    return results, figs


LISTING = ("USUBJID", "COHORT", "AGE", "SEX", "BOR", "CRSGR", "NTXGR", "POSTTRT", "TRANSFL",
           "DTHFL", "DTHDY", "DTHCAUS")


def _subject_listing(adsl: pd.DataFrame) -> Result:
    """Per-patient listing of the key ADSL variables (so every patient is in results.json)."""
    cols = [c for c in LISTING if c in adsl]
    table = adsl[cols].copy()
    table.index = pd.Index(adsl["USUBJID"].astype(str), name="USUBJID")
    return Result("listing.subjects", "Per-patient listing (ADSL)", table.drop(columns="USUBJID"),
                  "Key subject-level variables as derived (see docs/adam.md for definitions).",
                  section="other")


def clinical_figure_specs(adsl: pd.DataFrame, study: Study
                          ) -> list[tuple[str, str, str, str, Callable[[], Any]]]:
    """The clinical figures of a study, not yet drawn.

    Parameters
    ----------
    adsl : pandas.DataFrame
        The subject-level dataset (:func:`remission.derive.adsl.derive_adsl`).
    study : Study
        The study (its cohort label titles the figures).

    Returns
    -------
    list of tuple
        ``(name, title, caption, section, draw)``; ``draw()`` returns the matplotlib
        Figure.

    Examples
    --------
    >>> from remission.derive.adsl import derive_adsl
    >>> st = load_study("examples/cll1-post-hsct")
    >>> [s[0] for s in clinical_figure_specs(derive_adsl(st), st)]
    ['fig.response', 'fig.crs', 'fig.lanes']
    """
    from functools import partial

    from remission import plot

    cohort = study.config.cohorts.label if study.config.cohorts else "Group"
    specs: list[tuple[str, str, str, str, Callable[[], Any]]] = []
    # each draw is the drawing half of the plot function with the values it reads from
    # ADSL (plain Python): the report's figure process unpickles and draws it without
    # importing pandas (remission.report.background)
    if (adsl["BOR"] != "").any():
        title = "Best overall response by " + cohort.lower()
        specs.append(("fig.response", title,
                      "Counts of patients per response category in each group.", "efficacy",
                      partial(plot.draw_response_by_group, plot.response_by_group_data(adsl),
                              title=title, group_title=cohort)))
    if adsl["CRSGR"].notna().any():
        specs.append(("fig.crs", "CRS grade by " + cohort.lower(),
                      "Maximum CRS grade per patient in each group.", "safety",
                      partial(plot.draw_grade_by_group,
                              plot.grade_by_group_data(adsl, grade_col="CRSGR"),
                              title="CRS grade", group_title=cohort)))
    caption = ("One lane per patient: group, best response, CRS and neurotoxicity grade, "
               "transplant after CAR-T and death where known. " + plot.lane_chart_note(len(adsl)))
    specs.append(("fig.lanes", "Per-patient overview", caption.strip(), "efficacy",
                  partial(plot.draw_lane_chart, plot.lane_chart_data(adsl),
                          group_title=cohort)))
    return specs


def clinical_figures(analysis: Analysis) -> list[FigureItem]:
    """The clinical figures of an analysis, drawn (see :func:`clinical_figure_specs`).

    Parameters
    ----------
    analysis : Analysis
        From :func:`analyse`.

    Returns
    -------
    list of FigureItem
        Best response and CRS grade by group, the per-patient lane chart.

    Examples
    --------
    >>> a = analyse(load_study("examples/cll1-post-hsct"), figures=False)
    >>> [(f.name, type(f.figure).__name__) for f in clinical_figures(a)][0]
    ('fig.response', 'Figure')
    """
    return [FigureItem(name, title, caption, section, draw())
            for name, title, caption, section, draw
            in clinical_figure_specs(analysis.adsl, analysis.study)]


def _study_info(study: Study) -> StudyInfo:
    c = study.config
    return StudyInfo(
        **identity_of(c), n_patients=study.n, cohort_label=c.cohorts.label if c.cohorts else "",
        criteria={k: CRITERIA_LABELS.get(v, v) for k, v in c.criteria.items()},
        cohort_labels={lv.name: lv.label for lv in c.cohorts.levels} if c.cohorts else {})


def _software_versions() -> dict[str, str]:
    out = {"remission": __version__, "python": platform.python_version()}
    for pkg in ("numpy", "pandas", "scipy", "statsmodels", "lifelines", "matplotlib"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def _lab_results(folder: Path) -> tuple[list, list[FigureItem]]:
    """Results and figures of a lab/ folder (``remission.lab.analyse_folder``)."""
    from remission.lab import analyse_folder

    results, figs = analyse_folder(folder)
    items = [FigureItem(getattr(f, "remission_name", f"fig.lab.{i}"),
                        getattr(f, "remission_title", "Laboratory figure"),
                        getattr(f, "remission_caption", ""), "lab", f)
             for i, f in enumerate(figs, start=1)]
    return list(results), items


def lab_bundle(folder: str | Path) -> ReportBundle:
    """A report of a stand-alone lab folder (``remission lab report``).

    Every assay file of the folder is analysed by :func:`remission.lab.analyse_folder`
    (dose-response, qPCR, apoptosis, synergy, RNA-seq); the report is titled by
    ``lab.toml``'s ``[lab] name`` (else the folder's name) and carries the SYNTHETIC
    banner only when ``lab.toml`` declares ``synthetic = true``.

    Parameters
    ----------
    folder : str or Path
        A folder with a ``lab.toml`` and assay files (see docs/lab-formats.md), or a study
        folder whose ``lab/`` subfolder holds them.

    Returns
    -------
    ReportBundle
        The laboratory Results (section ``"lab"``), their figures and software versions;
        the study header has no patients.

    Raises
    ------
    remission.errors.InputError
        With every problem of the folder's files (e.g. no assay file at all).

    Examples
    --------
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> _ = (Path(tmp.name) / "lab.toml").write_text('[lab]\\nname = "pilot"\\n')
    >>> lab_bundle(tmp.name)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    remission.errors.InputError: 1 problem found:
      - ...: no lab input files found; expected doseresponse.csv, qpcr.csv, ...
    >>> tmp.cleanup()
    """
    from remission.lab.folder import lab_folder, read_config

    folder = Path(folder)
    step("laboratory analyses")
    results, figs = _lab_results(folder)
    # the data's own declaration (lab.toml [lab] synthetic = true) decides the banner, never
    # the folder's name
    lab_cfg = read_config(lab_folder(folder)).get("lab", {})
    info = StudyInfo(name=f"Laboratory report: {lab_cfg.get('name') or folder.name}",
                     disease="", products=(), day0="",
                     synthetic=lab_cfg.get("synthetic") is True)
    return ReportBundle(study=info, results=ResultSet(results), figures=figs,
                        software=_software_versions())


def _singlecell_results(folder: Path, figures: bool = True) -> tuple[list, list[FigureItem]]:
    """Results and figures of a study's single-cell data (``remission.singlecell``)."""
    from remission.singlecell import figures as sc_figures
    from remission.singlecell import run_folder

    prof = run_folder(folder)
    items = [FigureItem(n, t, c, "singlecell", f) for n, t, c, f in sc_figures(prof)] \
        if figures else []
    return list(prof.results), items


def singlecell_bundle(folder: str | Path) -> ReportBundle:
    """A report of the single-cell part of a folder (``remission singlecell report``).

    Parameters
    ----------
    folder : str or Path
        A folder whose ``study.toml`` has a ``[singlecell]`` table naming the count
        matrices and sample sheet (docs/singlecell.md); its ``[study]`` table (name,
        disease, products, reference, synthetic) heads the report.

    Returns
    -------
    ReportBundle
        The single-cell Results (section ``"singlecell"``) and figures, with software
        versions.

    Raises
    ------
    remission.errors.InputError
        With every problem of ``study.toml``'s ``[singlecell]`` keys, the sample sheet or
        a count matrix.

    Examples
    --------
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> _ = (Path(tmp.name) / "study.toml").write_text('[study]\\nname = "X"\\n')
    >>> singlecell_bundle(tmp.name)
    Traceback (most recent call last):
    ...
    remission.errors.InputError: 1 problem found:
      - study.toml, column 'singlecell': no [singlecell] table; expected a [singlecell] table
    >>> tmp.cleanup()
    """
    import tomllib

    folder = Path(folder)
    results, figs = _singlecell_results(folder)
    st = tomllib.loads((folder / "study.toml").read_text(encoding="utf-8")).get("study", {})
    info = StudyInfo(name=str(st.get("name", folder.name)), disease=str(st.get("disease", "")),
                     products=tuple(st.get("products", ())), day0="",
                     reference=str(st.get("reference", "")),
                     synthetic=bool(st.get("synthetic", False)))
    return ReportBundle(study=info, results=ResultSet(results), figures=figs,
                        software=_software_versions())


def _evidence_bundle(folder: str | Path) -> ReportBundle:
    """Report for an aggregate-only folder: a claims.toml of published numbers, no patients.

    Each printed comparison is reconstructed (which integer tables and which test reproduce
    the printed percentages and P value; attainability of means, medians and ratios)."""
    from remission.evidence.claims import reconstruct_claims

    folder = Path(folder)
    results = [_as_audit(r) for r in reconstruct_claims(folder / "claims.toml")]
    title = folder.name
    readme = folder / "README.md"
    if readme.exists():
        first = readme.read_text(encoding="utf-8").splitlines()[:1]
        title = first[0].lstrip("# ").strip() if first else title
    info = StudyInfo(name=title, disease="", products=(), day0="",
                     reference="aggregate published numbers only (no patient-level data)")
    return ReportBundle(study=info, results=ResultSet(results), figures=[],
                        software=_software_versions())


def _as_audit(r: Result) -> Result:
    from dataclasses import replace

    return r if r.section == "audit" else replace(r, section="audit")


STUDY, AGGREGATE, LAB = "study", "aggregate", "lab"
FOLDER_KINDS = {
    STUDY: "a study folder: study.toml + patients.csv (+ long tables, claims, lab/)",
    AGGREGATE: "aggregate published numbers only: claims.toml without study.toml or patients",
    LAB: "a laboratory folder: lab.toml (+ assay tables), for `remission lab report`",
}


def folder_kind(folder: str | Path) -> str:
    """Which kind of folder remission is given (one rule for validate, report and audit).

    Parameters
    ----------
    folder : str or Path
        The folder named on the command line.

    Returns
    -------
    str
        ``"study"`` when it has study.toml or patients.csv (a study folder, even an
        incomplete one, so that its problems are reported); ``"aggregate"`` when it has only
        a claims.toml of published numbers; ``"lab"`` when it has a lab.toml and no study.

    Examples
    --------
    >>> folder_kind("examples/seed000-ven-cll1")
    'aggregate'
    >>> folder_kind("examples/cll1-post-hsct")
    'study'
    """
    folder = Path(folder)
    if (folder / "study.toml").exists() or (folder / "patients.csv").exists() \
            or (folder / "study.xlsx").exists():
        return STUDY
    if (folder / "claims.toml").exists():
        return AGGREGATE
    if (folder / "lab.toml").exists():
        return LAB
    return STUDY


def validate_folder(folder: str | Path) -> str:
    """Check everything ``report`` and ``audit`` rely on; return a one-line summary.

    For a study: every table and study.toml key (``load_study``), the claims file, and a
    dry run of the analyses and the audit without figures, so that a claim naming a result,
    row, column or variable the data do not have is a problem here rather than a surprise
    later. Aggregate-only folders are reconstructed; lab folders analysed.

    Parameters
    ----------
    folder : str or Path
        The folder to check.

    Returns
    -------
    str
        A summary such as ``"valid — 12 patients; events (16 rows)"``.

    Raises
    ------
    InputError
        With every problem found.

    Examples
    --------
    >>> validate_folder("examples/seed000-ven-cll1")  # doctest: +ELLIPSIS
    'valid — aggregate-only folder: ...'
    """
    from remission.errors import InputError, Problem

    folder = Path(folder)
    kind = folder_kind(folder)
    if kind == AGGREGATE:
        from remission.evidence.claims import reconstruct_claims

        results = reconstruct_claims(folder / "claims.toml")
        return (f"valid — aggregate-only folder: {len(results)} published comparisons and "
                "summaries to reconstruct (no patient-level data)")
    if kind == LAB:
        results, _ = _lab_results(folder)
        return f"valid — laboratory folder: {len(results)} analyses (use `remission lab report`)"
    study = load_study(folder)
    if (folder / "immunogenetics").is_dir():
        from remission.immunogenetics.folder import read_folder

        read_folder(folder / "immunogenetics", set(study.patients["patient_id"].astype(str)))
    from remission.singlecell.declared import has_singlecell

    if has_singlecell(folder):  # [singlecell] keys, sample sheet, every count matrix
        from remission.singlecell.io import load_singlecell

        load_singlecell(folder)
    analysis = analyse(study, figures=False)
    from remission.audit import UNRESOLVED, audit_study
    from remission.audit.claims import read_claims

    audits = audit_study(analysis)
    problems: list[Problem] = []
    if study.config.claims:
        label = Path(study.config.claims).name
        lines = {c.id: c.line for c in read_claims(folder / study.config.claims, label)}
        for res in audits:
            if res.name != "audit.claims":
                continue
            for cid, row in res.table.iterrows():
                if str(row["why"]).startswith(UNRESOLVED):
                    problems.append(Problem(
                        label, "claim refers to something the data do not have: "
                        + str(row["why"])[len(UNRESOLVED) + 2:], row=lines.get(str(cid)),
                        column=f"claim {cid}",
                        expected="a result/row/column or ADSL variable that exists, or "
                                 "checkable = false with why"))
    if problems:
        raise InputError(problems)
    extra = ", ".join(f"{k} ({len(v)} rows)" for k, v in study.tables.items())
    warned = "".join(f"\nwarning: {w}" for w in study.warnings)
    return f"valid — {study.n} patients" + (f"; {extra}" if extra else "") + warned


def bundle_for(folder: str | Path, figures: bool = True,
               background: bool | BackgroundFigures = False) -> ReportBundle:
    """The report bundle of any folder remission accepts: a study, or aggregate claims only.

    Parameters
    ----------
    folder : str or Path
        A study or aggregate-only folder (see :func:`folder_kind`).
    figures : bool
        Draw figures (False for the audit, which prints tables only).
    background : bool or BackgroundFigures
        Draw the clinical figures in a second process (see :func:`analyse`); pass a
        started :class:`~remission.report.background.BackgroundFigures` to have its
        child import matplotlib before this call (``remission report`` does).

    Returns
    -------
    ReportBundle
        What the renderers need.

    Examples
    --------
    >>> bundle_for("examples/seed000-ven-cll1").study.reference  # doctest: +ELLIPSIS
    'aggregate published numbers only...'
    """
    folder = Path(folder)
    kind = folder_kind(folder)
    if kind != STUDY and not isinstance(background, bool):
        background.close()  # no clinical figures to draw
    if kind == AGGREGATE:
        return _evidence_bundle(folder)
    if kind == LAB:
        from remission.errors import InputError, Problem

        raise InputError([Problem(str(folder), "this is a laboratory folder (lab.toml), not a "
                                  "study", expected="`remission lab report FOLDER`")])
    return build_bundle(folder, figures=figures, background=background)[1]


def build_bundle(folder: str | Path, figures: bool = True,
                 background: bool | BackgroundFigures = False
                 ) -> tuple[Analysis, ReportBundle]:
    """Load, analyse and audit a study folder into a ReportBundle.

    The study is loaded (:func:`remission.study.load_study`), analysed (:func:`analyse`)
    and audited (:func:`remission.audit.audit_study`: claims.toml and the internal
    consistency of reported tables); a ``lab/`` subfolder adds the translational
    laboratory section, an ``immunogenetics/`` subfolder the immunogenetics section and a
    ``[singlecell]`` table of study.toml the single-cell section.

    Parameters
    ----------
    folder : str or Path
        A study folder (study.toml + patients.csv, see docs/study-format.md).
    figures : bool, default True
        Draw the figures (False is faster and enough for numbers and the audit).
    background : bool or BackgroundFigures, default False
        Draw the clinical figures in a second process (see :func:`analyse`).

    Returns
    -------
    tuple of (Analysis, ReportBundle)
        The analysis (datasets, Results, figures) and the bundle the renderers take: the
        study header, the same Results, the figures and the software versions.

    Raises
    ------
    remission.errors.InputError
        With every problem of the study folder (tables, study.toml, claims, lab or
        immunogenetics files).

    Examples
    --------
    >>> analysis, bundle = build_bundle("examples/cll1-post-hsct", figures=False)
    >>> bundle.study.n_patients, len(analysis.adsl)
    (12, 12)
    >>> [r.name for r in bundle.results if r.section == "audit"]
    ['audit.claims', 'audit.consistency']
    >>> sorted(bundle.software)[:3]
    ['lifelines', 'matplotlib', 'numpy']
    """
    bg = background
    if figures and background is True:  # the child imports matplotlib while we read
        from remission.report.background import BackgroundFigures

        bg = BackgroundFigures()
    elif not figures and not isinstance(background, bool):
        background.close()  # nothing to draw
    step("reading the study folder")
    study = load_study(folder)  # on an error the child is stopped when bg is collected
    analysis = analyse(study, figures=figures, background=bg if figures else False)
    from remission.audit import audit_study

    step("auditing reported numbers")
    analysis.results.extend(audit_study(analysis))
    lab = Path(folder) / "lab"
    if lab.is_dir():
        step("laboratory analyses")
        results, figs = _lab_results(lab)
        analysis.results.extend(results)
        if figures:
            analysis.figures.extend(figs)
    immuno = Path(folder) / "immunogenetics"
    if immuno.is_dir():  # KIR-HLA, integration sites, chimerism, analyte panel
        from remission.immunogenetics.folder import analyse_folder as immuno_folder

        results, figs = immuno_folder(immuno, set(study.patients["patient_id"].astype(str)),
                                      figures=figures)
        analysis.results.extend(results)
        analysis.figures.extend(FigureItem(f.remission_name, f.remission_title,
                                           f.remission_caption, "immunogenetics", f)
                                for f in figs)
    from remission.singlecell.declared import has_singlecell

    if has_singlecell(folder):
        results, figs = _singlecell_results(Path(folder), figures=figures)
        analysis.results.extend(results)
        if figures:
            analysis.figures.extend(figs)
    bundle = ReportBundle(study=_study_info(study), results=analysis.results,
                          figures=analysis.figures, software=_software_versions())
    return analysis, bundle
