"""The Cox fit's blocked ``x @ beta`` (kept below OpenBLAS's threading threshold, issue 12)
gives exactly the bits of one BLAS call, for tall and small designs alike."""

from __future__ import annotations

import numpy as np
import pytest

from remission.stats.survival.coxph import _matvec


@pytest.mark.parametrize("n,p", [(100_000, 5), (12_345, 3), (9_216, 1), (500, 7), (3, 2),
                                 (0, 4)])
def test_blocked_product_is_bit_identical(n: int, p: int) -> None:
    rng = np.random.default_rng(n + p)
    x = np.round(rng.normal(size=(n, p)), 6)
    x -= x.mean(0) if n else 0.0  # centred, as the fit uses it
    b = rng.normal(size=p)
    got = _matvec(x, b)
    assert got.shape == (n,)
    np.testing.assert_array_equal(got, x @ b)
