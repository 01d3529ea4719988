"""Compiled per-row clonality metrics (numba); see :mod:`remission.immunogenetics.clonality`
for the definitions. Column order = ``clonality.METRICS``."""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _groups(row):
    """Distinct positive values (ascending) and multiplicities; ok=False on bad input."""
    k = row.shape[0]
    mx = 0.0
    s = 0
    integral = True
    for j in range(k):
        v = row[j]
        if v != v or v < 0:
            return np.zeros(0), np.zeros(0, np.int64), False
        if v > 0:
            s += 1
            if v > mx:
                mx = v
            if v != math.floor(v):
                integral = False
    if s == 0:
        return np.zeros(0), np.zeros(0, np.int64), True
    if integral and mx <= 4.0 * k + 1024.0:
        m = int(mx)
        hist = np.zeros(m + 1, np.int64)
        for j in range(k):
            if row[j] > 0:
                hist[int(row[j])] += 1
        nb = 0
        for v in range(1, m + 1):
            if hist[v] > 0:
                nb += 1
        vals = np.empty(nb)
        cnts = np.empty(nb, np.int64)
        i = 0
        for v in range(1, m + 1):
            if hist[v] > 0:
                vals[i] = v
                cnts[i] = hist[v]
                i += 1
        return vals, cnts, True
    pos = np.empty(s)
    i = 0
    for j in range(k):
        if row[j] > 0:
            pos[i] = row[j]
            i += 1
    pos.sort()
    nb = 1
    for i in range(1, s):
        if pos[i] != pos[i - 1]:
            nb += 1
    vals = np.empty(nb)
    cnts = np.zeros(nb, np.int64)
    g = 0
    vals[0] = pos[0]
    for i in range(s):
        if i > 0 and pos[i] != pos[i - 1]:
            g += 1
            vals[g] = pos[i]
        cnts[g] += 1
    return vals, cnts, True


@numba.njit(cache=True, nogil=True)
def row_metrics(x, z, out):
    n = x.shape[0]
    for r in range(n):
        vals, cnts, ok = _groups(x[r])
        if not ok:
            continue
        nb = vals.shape[0]
        s = 0.0
        tot = 0.0
        for g in range(nb):
            s += cnts[g]
            tot += cnts[g] * vals[g]
        out[r, 0] = s
        out[r, 1] = tot
        f1 = 0.0
        f2 = 0.0
        for g in range(nb):
            if vals[g] == 1.0:
                f1 = cnts[g]
            elif vals[g] == 2.0:
                f2 = cnts[g]
        out[r, 13] = f1
        out[r, 14] = f2
        if s == 0:
            continue
        h = 0.0
        d = 0.0
        acc = 0.0
        r0 = 0.0
        for g in range(nb):
            p = vals[g] / tot
            c = float(cnts[g])
            h -= c * p * math.log(p)
            d += c * p * p
            acc += vals[g] * (c * r0 + c * (c + 1.0) / 2.0)
            r0 += c
        out[r, 2] = h
        out[r, 3] = h / math.log(s) if s > 1 else np.nan
        out[r, 4] = 1.0 - d
        out[r, 5] = 1.0 / d
        out[r, 6] = (2.0 * acc - (s + 1.0) * tot) / (s * tot)
        # descending walk: top clone, top 10, UC50 (first k with cumulative >= 50%)
        target = (0.5 - 1e-12) * tot
        cum = 0.0
        taken = 0.0
        top10 = 0.0
        uc50 = np.nan
        for g in range(nb - 1, -1, -1):
            v = vals[g]
            c = float(cnts[g])
            if taken < 10:
                top10 += v * min(c, 10.0 - taken)
            if uc50 != uc50 and cum + v * c >= target:
                need = math.ceil((target - cum) / v)
                uc50 = taken + max(need, 1.0)
            cum += v * c
            taken += c
        out[r, 7] = uc50
        out[r, 8] = vals[nb - 1] / tot
        out[r, 9] = top10 / tot
        # Chao1 bias-corrected; CI by the EstimateS rules (eq. 6/7 + 13; eq. 14)
        t = f1 * (f1 - 1.0) / (2.0 * (f2 + 1.0))
        chao = s + t
        out[r, 10] = chao
        if f1 > 0:
            if f2 > 0:
                var = (f1 * (f1 - 1.0) / (2.0 * (f2 + 1.0))
                       + f1 * (2.0 * f1 - 1.0) ** 2 / (4.0 * (f2 + 1.0) ** 2)
                       + f1 ** 2 * f2 * (f1 - 1.0) ** 2 / (4.0 * (f2 + 1.0) ** 4))
            else:
                var = (f1 * (f1 - 1.0) / 2.0 + f1 * (2.0 * f1 - 1.0) ** 2 / 4.0
                       - f1 ** 4 / (4.0 * chao))
            if t > 0:
                kk = math.exp(z * math.sqrt(math.log(1.0 + var / (t * t))))
                out[r, 11] = s + t / kk
                out[r, 12] = s + t * kk
            else:
                out[r, 11] = s
                out[r, 12] = s
        else:
            pz = math.exp(-tot / s)
            half = z * math.sqrt(s * pz / (1.0 - pz))
            out[r, 11] = max(s, s / (1.0 - pz) - half)
            out[r, 12] = s / (1.0 - pz) + half
