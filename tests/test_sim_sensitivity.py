"""Sobol indices (SALib) of seed-002 outputs: structural zeros and non-zeros.

Oracle: the model's structure. IL-6 and the CRS cut-points never feed back into killing,
so their total indices on the marrow response and the ANC nadir are exactly 0 (same
virtual patients for every parameter set); the dummy parameter is read by nothing; the
CRS cut-point moves the CRS output. A change that made IL-6 kill blasts, or that broke
the common random numbers, would turn these red.
"""

from __future__ import annotations

import pytest

from remission.sim.params import PARAMETERS
from remission.sim.sensitivity import sobol_indices


def test_sobol_structural_zeros_and_dependence() -> None:
    """Also: ``bounds`` replaces a parameter's x[1/3, 3] range -- il6_car held within
    +/- 0.1 % of its value no longer moves CRS (its index with the full range is ~0.25,
    docs/simulation.md)."""
    v = PARAMETERS["il6_car"].value
    r = sobol_indices(n_base=8, patients=12, bounds={"il6_car": (0.999 * v, 1.001 * v)})
    st = r.table.pivot(index="parameter", columns="output", values="ST")
    rng = r.table[r.table["parameter"] == "il6_car"].iloc[0]
    assert rng["low"] == pytest.approx(0.999 * v) and rng["high"] == pytest.approx(1.001 * v)
    cut = r.table[r.table["parameter"] == "crs_cut3"].iloc[0]
    assert cut["low"] == pytest.approx(PARAMETERS["crs_cut3"].value / 3)
    assert st.loc["il6_car", "crs_ge2"] < 0.02 and st.loc["il6_car", "crs_ge3"] < 0.02
    assert (st.loc["dummy"] == 0).all()
    for p in ("il6_car", "crs_cut3"):
        assert st.loc[p, "marrow_cr_d14"] == 0 and st.loc[p, "anc_lt_0_5"] == 0
    assert st.loc["crs_cut3", "crs_ge3"] > 0.05
    assert st.loc["car_expansion", "car_peak_day"] > 0
    assert r.params["parameter_sets"] == 8 * (7 + 2)


@pytest.mark.parametrize("bounds,match", [({"il6_car": (5.0, 1.0)}, "0 < low < high"),
                                          ({"no_such": (1.0, 2.0)}, "unknown parameter")])
def test_bad_bounds_are_refused(bounds, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        sobol_indices(n_base=8, patients=2, bounds=bounds)
