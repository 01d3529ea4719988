"""Clinical figures on the CLL-1 post-HSCT study (12 patients) and synthetic larger sets."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from remission.errors import InputError
from remission.plot import grade_by_group, lane_chart, response_by_group

DATA = Path(__file__).resolve().parents[1] / "examples" / "cll1-post-hsct" / "patients.csv"
COHORTS = {5e5: ("A", "0.5×10⁶/kg", 1), 1e6: ("B", "1.0×10⁶/kg", 2), 1.5e6: ("C", "1.5×10⁶/kg", 3)}
# Deaths from the text of Zhang M et al. Front Immunol 2025;15:1491341 (see data README):
# day known for patients 1 (26, infection) and 5 (23, haemorrhage); day not given for 3, 4, 8, 11.
# "Until the end of follow-up" the other six are not reported dead -> "N".
DEATHS = {
    "1": (26.0, "Severe infection"),
    "5": (23.0, "Intracranial haemorrhage"),
    "3": (np.nan, "COVID-19"),
    "4": (np.nan, "Severe CRS"),
    "8": (np.nan, "Relapse"),
    "11": (np.nan, "Severe infection"),
}


def cll1_adsl() -> pd.DataFrame:
    """ADSL-like subject table built from the transcribed patients.csv."""
    p = pd.read_csv(DATA, dtype={"patient_id": str})
    rows = []
    for r in p.itertuples(index=False):
        cohort, label, order = COHORTS[float(r.cart_dose_per_kg)]
        bor = str(r.best_response)
        post = "" if str(r.therapy_after_cart) == "No" else str(r.therapy_after_cart)
        dth = DEATHS.get(r.patient_id)
        rows.append({
            "USUBJID": r.patient_id, "AGE": r.age, "SEX": r.sex,
            "COHORT": cohort, "COHORTL": label, "COHORTN": order, "BOR": bor,
            "RESPFL": "Y" if bor in {"MRD-CR", "MRD+CR", "PR"} else "N",
            "CRFL": "Y" if bor in {"MRD-CR", "MRD+CR"} else "N",
            "MRDNEGFL": "Y" if bor == "MRD-CR" else "N",
            "CRSGR": int(r.crs_grade), "NTXGR": int(r.cres_grade),
            "NTXSYS": "CRES (CARTOX 2018)", "POSTTRT": post,
            "TRANSFL": "Y" if post else "N",
            "DTHFL": "Y" if dth else "N",
            "DTHDY": dth[0] if dth else np.nan,
            "DTHCAUS": dth[1] if dth else "",
        })
    return pd.DataFrame(rows)


def synthetic_adsl(n: int, seed: int = 7) -> pd.DataFrame:
    """A larger ADSL with the same columns (random but seeded) for scale tests."""
    rng = np.random.default_rng(seed)
    coh = rng.integers(1, 4, n)
    dth = rng.choice(["Y", "N", ""], n, p=[0.3, 0.6, 0.1])
    return pd.DataFrame({
        "USUBJID": [f"S{i:05d}" for i in range(n)],
        "COHORT": [chr(64 + c) for c in coh], "COHORTL": [f"dose {c}" for c in coh],
        "COHORTN": coh,
        "BOR": rng.choice(["MRD-CR", "MRD+CR", "CRi", "PR", "NR", ""], n),
        "CRSGR": rng.integers(0, 5, n), "NTXGR": rng.integers(0, 4, n),
        "NTXSYS": "ICANS (ASTCT 2019)", "TRANSFL": rng.choice(["Y", "N"], n),
        "DTHFL": dth, "DTHDY": np.where((dth == "Y") & (rng.random(n) < 0.5),
                                        rng.integers(1, 400, n), np.nan),
    })


def _texts(fig) -> list[str]:
    fig.canvas.draw() if hasattr(fig.canvas, "draw") else None
    out = [t.get_text() for ax in fig.axes for t in ax.texts]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        leg = ax.get_legend()
        if leg is not None:
            out += [t.get_text() for t in leg.get_texts()]
        out.append(ax.get_title(loc="left"))
        out.append(ax.get_xlabel())
    return out


def _svg(fig) -> bytes:
    import matplotlib as mpl

    buf = io.BytesIO()
    with mpl.rc_context({"svg.hashsalt": "remission"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def test_response_by_group_counts_match_table():
    fig = response_by_group(cll1_adsl())
    texts = _texts(fig)
    # Group A (5e5): patients 2, 8, 9, 11 -> MRD-CR 2 (50%), MRD+CR 1, NR 1 (hand count).
    assert "2 (50%)" in texts
    assert [t for t in texts if t.startswith("n=")] == ["n=4", "n=3", "n=5"]
    # bars are labelled with the study's labels, never the codes A/B/C
    assert {"0.5×10⁶/kg", "1.0×10⁶/kg", "1.5×10⁶/kg"} <= set(texts)
    assert not {"A", "B", "C"} & set(texts)
    assert "Group" in texts  # default axis title when the caller names no cohort label
    assert {"MRD-CR", "MRD+CR", "PR", "NR"} <= set(texts)
    # Group C (1.5e6): patients 1, 5, 6, 7, 10 -> MRD-CR 3 (60%), PR 2 (40%)
    assert "3 (60%)" in texts and "2 (40%)" in texts


def test_grade_by_group_shows_all_grades_up_to_max():
    fig = grade_by_group(cll1_adsl(), "CRSGR")
    texts = _texts(fig)
    assert [f"Grade {g}" for g in range(5)] == [t for t in texts if t.startswith("Grade")][::-1]
    assert "CRS grade by group" in texts
    fig2 = grade_by_group(cll1_adsl(), "NTXGR", group_title="Dose group")
    assert "CRES (CARTOX 2018) grade by dose group" in _texts(fig2)
    assert "Dose group" in _texts(fig2) and "0.5×10⁶/kg" in _texts(fig2)


def test_lane_chart_12_patients_rows_and_death_days():
    fig = lane_chart(cll1_adsl())
    texts = _texts(fig)
    ylabels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    # sorted by dose group A, B, C then natural ID order
    assert ylabels == ["2", "8", "9", "11", "3", "4", "12", "1", "5", "6", "7", "10"]
    assert "† d26" in texts and "† d23" in texts
    assert texts.count("†") == 4  # patients 3, 4, 8, 11: died, day not given
    assert "CRES grade" in texts


def test_lane_chart_60_patients_readable_and_unknown_status():
    adsl = synthetic_adsl(60)
    fig = lane_chart(adsl)
    assert len(fig.axes[0].get_yticklabels()) == 60
    assert "?" in _texts(fig)  # unknown survival shown as text, not colour only
    assert fig.get_figheight() < 16


def test_lane_chart_aggregates_large_studies_with_bounded_size():
    from remission.plot import lane_chart_note

    assert lane_chart_note(200) == ""
    assert "aggregated" in lane_chart_note(201)
    fig = lane_chart(synthetic_adsl(5000))
    assert "aggregated view" in fig.axes[0].get_title(loc="left")
    assert len(_svg(fig)) < 400_000


def test_figures_are_deterministic_svg():
    adsl = cll1_adsl()
    for make in (response_by_group, lambda a: grade_by_group(a, "NTXGR"), lane_chart):
        assert _svg(make(adsl)) == _svg(make(adsl))


def test_missing_columns_reported_all_at_once():
    import pytest  # imported here: benchmarks import this module's fixtures without pytest

    with pytest.raises(InputError) as err:
        lane_chart(cll1_adsl().drop(columns=["BOR", "CRSGR"]))
    cols = {p.column for p in err.value.problems}
    assert cols == {"BOR", "CRSGR"}


def test_grade_missing_and_unknown_response_categories_are_labelled():
    adsl = cll1_adsl()
    adsl.loc[0, "CRSGR"] = np.nan
    adsl.loc[1, "BOR"] = "sCR-like"  # not in the vocabulary: kept, grey + hatch, labelled
    adsl.loc[2, "BOR"] = ""
    texts = _texts(grade_by_group(adsl, "CRSGR"))
    assert "Not graded" in texts
    rtexts = _texts(response_by_group(adsl))
    assert {"sCR-like", "Missing"} <= set(rtexts)
    lt = _texts(lane_chart(adsl))
    assert "sCR-like" in lt and "?" in lt


def test_png_export_is_deterministic_without_software_chunk():
    from remission.report.figures import figure_png

    a, b = figure_png(response_by_group(cll1_adsl())), figure_png(response_by_group(cll1_adsl()))
    assert a == b and a.startswith(b"\x89PNG")
    assert b"Software" not in a and b"tIME" not in a


def test_every_study_figure_shows_the_study_labels_not_the_codes(tmp_path):
    """Issue 11: figure axes and legends show study.toml's cohort labels ("Arm" / "Dose
    level 1" ...), not the codes of patients.csv. Codes are renamed here so no label
    contains its code by chance."""
    import shutil

    from remission.pipeline import bundle_for

    root = Path(__file__).resolve().parents[1] / "examples" / "cll1-post-hsct"
    dst = tmp_path / "s"
    shutil.copytree(root, dst)
    toml = dst / "study.toml"
    text = toml.read_text(encoding="utf-8")
    for code in ("A", "B", "C"):
        text = text.replace(f'name = "{code}", ', f'name = "Q{code}", ')
    text = text.replace('label = "Dose group"', 'label = "CAR-T dose level"')
    toml.write_text(text, encoding="utf-8")
    if "[endpoints" not in text:
        toml.write_text(text + "\n[endpoints.os]\nlandmarks = [365]\n", encoding="utf-8")
    bundle = bundle_for(dst, figures=True)
    figs = {f.name: f.figure for f in bundle.figures}
    assert {"fig.response", "fig.crs", "fig.lanes", "fig.os"} <= set(figs)
    for name, fig in figs.items():
        texts = _texts(fig)
        assert not {"QA", "QB", "QC"} & set(texts), (name, texts)
        if name in ("fig.response", "fig.crs"):
            assert {"0.5×10⁶/kg", "1.0×10⁶/kg", "1.5×10⁶/kg"} <= set(texts), name
            assert "CAR-T dose level" in texts, name
        if name == "fig.lanes":  # tiles and legend carry the labels
            assert "CAR-T dose level" in texts
            assert texts.count("0.5×10⁶/kg") == 4 + 1  # four patients' tiles + legend
        if name.startswith("fig.") and name not in ("fig.response", "fig.crs", "fig.lanes"):
            # survival curves: legend entries by label, in study.toml order
            legend = [t for t in texts if "(n=" in t]
            assert legend, name
            assert [t.split(" (n=")[0] for t in legend] == [
                    "0.5×10⁶/kg", "1.0×10⁶/kg", "1.5×10⁶/kg"], (name, legend)
