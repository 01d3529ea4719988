"""benchmarks/sim_donor/screen_donor.py at tiny size: the donor-derived product's
alloreactive recognition acts on seed 002 (donor CAR-T, ``source = "donor"``) only, in
the direction its biology says, and the judged check stream is refused."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from remission.sim.design import DESIGN_DIR, load_design
from remission.sim.params import typical
from remission.sim.population import build_patients

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "sim_donor" / "screen_donor.py"


def _module():
    spec = importlib.util.spec_from_file_location("screen_donor", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_allo_recognition_raises_seed_002_mrd_negative_cr_and_leaves_others_alone() -> None:
    """Three virtual trials of seed 002 on screening stream 6, g = 0 and 0.5: the donor
    cells kill antigen-negative blasts too, so MRD-negative CR at day 14 rises. Seed
    000's autologous product and seed 004's CAR-NK get no alloreactive recognition
    whatever g (their virtual patients' ``allo_recognition`` is 0)."""
    mod = _module()
    t = mod.screen(6, 3, {"car_allo_recognition": (0.0, 0.5)}, studies=("002",))
    assert len(t) == 2
    assert t.loc[1, "002.mrdneg_d14"] > t.loc[0, "002.mrdneg_d14"] + 0.1, t
    for f in ("seed000_ven_leadin_cll1_cart.toml", "seed004_cd123_carnk_escalation.toml"):
        d = load_design(DESIGN_DIR / f)
        for a in d.arms:
            _, p = build_patients(0, np.arange(3), a.population,
                                  typical({"car_allo_recognition": 0.5}), a.product,
                                  d.antigen, donor_derived=a.donor_derived)
            assert (p["allo_recognition"] == 0.0).all(), (f, a.name)
    # a donor-derived CAR-NK (not a design seed 004 gives) still gets none
    _, p = build_patients(0, np.arange(3), {}, typical({"car_allo_recognition": 0.5}),
                          "car_nk", "CD123", donor_derived=True)
    assert (p["allo_recognition"] == 0.0).all()


def test_screen_refuses_the_judged_check_stream(capsys) -> None:
    with pytest.raises(SystemExit):
        _module().main(["--stream", "2", "--trials", "3"])
    assert "judged check stream" in capsys.readouterr().err
