"""Stacked count bars by dose group, shared by the response and grade figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from remission.numbers import format_proportion
from remission.plot._style import text_color


def stacked_counts(
    ax: Any,
    groups: Sequence[str],
    levels: Sequence[str],
    counts: Sequence[Sequence[int]],
    styles: Sequence[tuple[str, str]],
    legend_title: str,
) -> None:
    """Draw one stacked bar per group; each segment labelled ``n (x%)`` of its group.

    ``counts[i][j]`` is the number of patients of group ``i`` in level ``j``. Labels sit
    inside segments tall enough to hold them, so the figure reads without colour.
    """
    totals = [sum(row) for row in counts]
    ymax = max(totals) if totals and max(totals) > 0 else 1
    x = list(range(len(groups)))
    bottoms = [0] * len(groups)
    for j, (level, (color, hatch)) in enumerate(zip(levels, styles, strict=True)):
        heights = [row[j] for row in counts]
        ax.bar(
            x, heights, bottom=bottoms, width=0.62, color=color, hatch=hatch or None,
            edgecolor="#333333", linewidth=0.6, label=level, zorder=2,
        )
        for i, h in enumerate(heights):
            if h <= 0:
                continue
            share = format_proportion(h / totals[i]).replace(".0%", "%")
            big = h / ymax >= 0.09
            text = f"{h} ({share})" if big else str(h)
            if h / ymax >= 0.045:
                ax.text(
                    i, bottoms[i] + h / 2, text, ha="center", va="center", fontsize=7.5,
                    color=text_color(color),
                    bbox=None if not hatch else {"boxstyle": "round,pad=0.15",
                                                 "fc": "white", "ec": "none", "alpha": 0.85},
                    zorder=3,
                )
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    for i, t in enumerate(totals):
        ax.text(i, t + ymax * 0.015, f"n={t}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, list(groups))
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylim(0, ymax * 1.1)
    ax.set_ylabel("Patients (n)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="y", color="#DDDDDD", linewidth=0.6, zorder=0)
    handles, labs = ax.get_legend_handles_labels()
    ax.legend(
        handles[::-1], labs[::-1], title=legend_title, loc="upper left",
        bbox_to_anchor=(1.01, 1.0), frameon=False,
    )


def group_tick_labels(cohorts: Sequence[tuple[str, str]], width: int = 14) -> list[str]:
    """Tick text of each group: its study.toml label (the code only when it has none),
    wrapped at ``width`` characters so neighbouring labels do not overlap.

    Examples
    --------
    >>> group_tick_labels([("A", "0.5×10⁶/kg"), ("B", "")])
    ['0.5×10⁶/kg', 'B']
    >>> group_tick_labels([("A", "CD19 CAR-T at the high dose")])
    ['CD19 CAR-T at\\nthe high dose']
    """
    import textwrap

    return ["\n".join(textwrap.wrap(label, width)) if label else name
            for name, label in cohorts]
