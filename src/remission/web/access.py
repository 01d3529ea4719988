"""Roles per study and object-level checks.

Every view reaches a study or patient only through :func:`study_for` / :func:`patient_for`,
which answer 404 when the user has no role in that study (so another study's records are
not even confirmed to exist) and 403 when the role lacks the capability.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from remission.web.models import Membership, Patient, Study

#: capability -> roles that have it
CAPABILITIES: dict[str, frozenset[str]] = {
    "view": frozenset({"admin", "investigator", "data_entry", "monitor", "statistician"}),
    "edit": frozenset({"admin", "investigator", "data_entry"}),
    "sign": frozenset({"investigator"}),
    "query": frozenset({"admin", "monitor"}),
    "answer": frozenset({"admin", "investigator", "data_entry"}),
    "export": frozenset({"admin", "investigator", "statistician"}),
    "manage": frozenset({"admin"}),
}


def role_in(user, study: Study) -> str | None:
    """The user's role in ``study`` or None."""
    if not user.is_authenticated:
        return None
    m = Membership.objects.filter(user=user, study=study).only("role").first()
    return None if m is None else m.role


def can(role: str | None, capability: str) -> bool:
    """Whether ``role`` has ``capability`` (see :data:`CAPABILITIES`).

    Examples
    --------
    >>> can("monitor", "edit"), can("monitor", "view")
    (False, True)
    """
    return role is not None and role in CAPABILITIES[capability]


def study_for(user, study_id: int, capability: str = "view") -> tuple[Study, str]:
    """(study, role) if ``user`` has ``capability`` in it; 404 without a role, 403 without
    the capability."""
    m = (Membership.objects.select_related("study")
         .filter(user=user, study_id=study_id).first()) if user.is_authenticated else None
    if m is None:
        raise Http404("no such study")
    if not can(m.role, capability):
        raise PermissionDenied(f"the {m.get_role_display()} role cannot do this")
    return m.study, m.role


def patient_for(user, study_id: int, patient_pk: int,
                capability: str = "view") -> tuple[Study, Patient, str]:
    """(study, patient, role) with the checks of :func:`study_for`; the patient must belong
    to that study (else 404)."""
    study, role = study_for(user, study_id, capability)
    p = Patient.objects.filter(study=study, pk=patient_pk).select_related("study").first()
    if p is None:
        raise Http404("no such patient")
    return study, p, role
