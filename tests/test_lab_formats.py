"""Lab input validators: every problem reported at once, with file/line/column/value."""

from __future__ import annotations

from pathlib import Path

import pytest

from remission.errors import InputError
from remission.lab.formats import (
    read_counts,
    read_ct_table,
    read_flow_quadrants,
    read_plate_map,
    read_plate_table,
    read_synergy_matrix,
)


def _w(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


def _problems(fn, *a, **k):
    with pytest.raises(InputError) as e:
        fn(*a, **k)
    return e.value.problems


def test_plate_table_reports_all_bad_cells(tmp_path):
    rows = ["plate,well,group,drug,dose,dose_unit,replicate,response"]
    for i, d in enumerate([0.1, 0.3, 1, 3, 10]):
        rows.append(f"P1,A{i + 1},ctl,VEN,{d},nM,1,{90 - 10 * i}")
    rows += ["P1,A1,ctl,VEN,-1,nM,1,50",      # duplicate well + negative dose
             "P1,Z9,ctl,VEN,1,nM,1,abc",      # bad well + non-numeric response
             "P1,B2,ctl,VEN,1,mol,1,40"]      # unknown unit (and inconsistent unit)
    probs = _problems(read_plate_table, _w(tmp_path, "dr.csv", "\n".join(rows) + "\n"))
    where = {(p.row, p.column) for p in probs}
    assert {(7, "dose"), (7, "well"), (8, "well"), (8, "response"), (9, "dose_unit")} <= where
    assert all(p.file.endswith("dr.csv") for p in probs)
    bad = next(p for p in probs if p.column == "response")
    assert bad.value == "abc" and bad.message == "not a valid number"


def test_plate_table_missing_columns_and_too_few_doses(tmp_path):
    probs = _problems(read_plate_table, _w(tmp_path, "a.csv", "group,dose\nx,1\n"))
    assert [p.column for p in probs] == ["response"]
    probs = _problems(read_plate_table,
                      _w(tmp_path, "b.csv", "group,dose,response\nx,1,5\nx,2,4\nx,0,9\n"))
    assert "only 2 distinct doses" in probs[0].message


def test_plate_map_layout_and_readings(tmp_path):
    header = "row," + ",".join(str(i) for i in range(1, 13))
    lay = [header] + [f"{r}," + ",".join([""] * 12) for r in "ABCDEFGH"]
    rd = [header] + [f"{r}," + ",".join(["1.0"] * 12) for r in "ABCDEFGH"]
    lay[1] = "A,ctl|VEN|0.1|1,ctl|VEN|1|1,ctl|VEN|x|1,bad cell," + ",".join([""] * 8)
    rd[1] = "A,0.9,NaN," + ",".join(["1.0"] * 10)
    probs = _problems(read_plate_map, _w(tmp_path, "p_layout.csv", "\n".join(lay) + "\n"),
                      _w(tmp_path, "p_readings.csv", "\n".join(rd) + "\n"))
    msgs = sorted((p.file.rsplit("/", 1)[-1], p.column) for p in probs)
    assert msgs == [("p_layout.csv", "3"), ("p_layout.csv", "4"), ("p_readings.csv", "2")]
    # a good map converts to the tidy table
    lay[1] = "A,ctl|VEN|0.1|1,ctl|VEN|1|1," + ",".join([""] * 10)
    rd[1] = "A,0.9,0.5," + ",".join(["1.0"] * 10)
    df = read_plate_map(_w(tmp_path, "q_layout.csv", "\n".join(lay) + "\n"),
                        _w(tmp_path, "q_readings.csv", "\n".join(rd) + "\n"), dose_unit="nM")
    assert list(df["well"]) == ["A1", "A2"] and list(df["response"]) == [0.9, 0.5]


def test_plate_map_wrong_shape(tmp_path):
    lay = "row,1,2\nA,,\nB,,\n"
    probs = _problems(read_plate_map, _w(tmp_path, "l.csv", lay), _w(tmp_path, "r.csv", lay))
    assert sum("grid is 2 x 2" in p.message for p in probs) == 2


def test_ct_table_problems(tmp_path):
    text = ("sample,group,gene,ct\n"
            "s1,ctl,GAPDH,18.1\n"
            "s1,ctl,T,Undetermined\n"       # allowed: missing Ct
            "s1,KD,T,25\n"                  # sample with two groups
            "s2,KD,T,-3\n"                  # impossible Ct
            "s3,KD,T,high\n")               # not a number
    probs = _problems(read_ct_table, _w(tmp_path, "ct.csv", text), ["GAPDH"])
    msgs = [(p.row, p.column) for p in probs]
    assert (4, "group") in msgs and (5, "ct") in msgs and (6, "ct") in msgs
    assert sum("no Ct for reference gene" in p.message for p in probs) == 2  # s2, s3
    assert (3, "ct") not in msgs


def test_flow_problems(tmp_path):
    text = ("sample,group,q_viable,q_early,q_late,q_necrotic,dose\n"
            "a,ctl,900,50,40,10,0\n"
            "a,ctl,900,50,40,10,0\n"        # duplicate sample
            "b,ctl,0,0,0,0,0\n"             # no events
            "c,ctl,-5,50,40,10,x\n")        # negative count, bad dose
    probs = _problems(read_flow_quadrants, _w(tmp_path, "f.csv", text))
    got = {(p.row, p.column, p.message.split(" ")[0]) for p in probs}
    assert (3, "sample", "sample") in got and (4, None, "all") in got
    assert (5, "q_viable", "value") in got and (5, "dose", "not") in got


def test_synergy_incomplete_matrix(tmp_path):
    rows = ["drug_row,dose_row,drug_col,dose_col,response"]
    for a in (0, 1, 10):
        for b in (0, 0.5, 1):
            if (a, b) != (10, 1):
                rows.append(f"VEN,{a},CAR-T,{b},{10 + a + b}")
    probs = _problems(read_synergy_matrix, _w(tmp_path, "s.csv", "\n".join(rows) + "\n"))
    assert "1 combination(s) missing" in probs[0].message and probs[0].value == ["10 x 1"]
    rows.append("VEN,10,CAR-T,1,abc")
    probs = _problems(read_synergy_matrix, _w(tmp_path, "s2.csv", "\n".join(rows) + "\n"))
    assert probs[0].row == 10 and probs[0].column == "response"


def test_counts_and_sample_sheet_mismatch(tmp_path):
    counts = "gene,s1,s2,s3\nA,1,2,3\nB,4,5.5,6\nA,1,1,1\nC,-1,0,0\n"
    sheet = "sample,group\ns1,ctl\ns2,KD\ns4,KD\n"
    probs = _problems(read_counts, _w(tmp_path, "c.csv", counts), _w(tmp_path, "s.csv", sheet),
                      groups=["ctl", "KD", "other"])
    text = [str(p) for p in probs]
    assert any("gene listed twice" in t and "line 4" in t for t in text)
    assert any("not a whole number" in t and "'s2'" in t for t in text)
    assert any("out of range" in t and "line 5" in t for t in text)
    assert any("no count column" in t and "s4" in t for t in text)
    assert any("no row in the sample sheet" in t and "s3" in t for t in text)
    assert any("group named in lab.toml" in t for t in text)


def test_unreadable_and_empty_files(tmp_path):
    probs = _problems(read_plate_table, tmp_path / "missing.csv")
    assert probs[0].message == "file not found"
    probs = _problems(read_flow_quadrants, _w(tmp_path, "e.csv", ""))
    assert "not a readable CSV" in probs[0].message
