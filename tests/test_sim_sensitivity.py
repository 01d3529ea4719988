"""Sobol indices (SALib) of seed-002 outputs: structural zeros and non-zeros.

Oracle: the model's structure. IL-6 and the CRS cut-points never feed back into killing,
so their total indices on the marrow response and the ANC nadir are exactly 0 (same
virtual patients for every parameter set); the dummy parameter is read by nothing; the
CRS cut-point moves the CRS output. A change that made IL-6 kill blasts, or that broke
the common random numbers, would turn these red.
"""

from __future__ import annotations

from remission.sim.sensitivity import sobol_indices


def test_sobol_structural_zeros_and_dependence() -> None:
    r = sobol_indices(n_base=8, patients=12)
    st = r.table.pivot(index="parameter", columns="output", values="ST")
    assert (st.loc["dummy"] == 0).all()
    for p in ("il6_car", "crs_cut3"):
        assert st.loc[p, "marrow_cr_d14"] == 0 and st.loc[p, "anc_lt_0_5"] == 0
    assert st.loc["crs_cut3", "crs_ge3"] > 0.05
    assert st.loc["car_expansion", "car_peak_day"] > 0
    assert r.params["parameter_sets"] == 8 * (7 + 2)
