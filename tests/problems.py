"""Test helper: pick one Problem out of a validation run by its fields."""

from __future__ import annotations

from remission.errors import Problem


def find(probs: list[Problem], **where: object) -> Problem:
    """The first problem whose attributes equal ``where``; AssertionError listing all if none."""
    for p in probs:
        if all(getattr(p, k) == v for k, v in where.items()):
            return p
    raise AssertionError(f"no problem matching {where}; got:\n" + "\n".join(map(str, probs)))
