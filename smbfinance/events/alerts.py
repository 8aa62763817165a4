"""In-app alerts that go with an event, for the people who can act on it (ADR 0036):
`webhook_endpoint.disabled` and `integration.consent_expiring`. They share the cash-flow
alerts table (GET /api/v1/alerts) with audience `owners`: only owners and admins, who
manage endpoints and integrations, see them.

`integration.consent_expiring` is emitted once per integration and consent end date, when
the end comes within 14 days: the alert row is the marker (a unique index over integration
and date), so a scheduler asking every minute emits it once. Joins the caller's
transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from smbfinance.cashflow.models import Alert
from smbfinance.db import new_id
from smbfinance.events import objects
from smbfinance.events.outbox import emit
from smbfinance.integrations.health import CONSENT_WARNING

ENDPOINT_DISABLED = "webhook_endpoint_disabled"
CONSENT_EXPIRING = "integration_consent_expiring"


def endpoint_disabled(session: Session, *, endpoint: Any, now: datetime) -> Alert:
    """An alert for the endpoint just disabled (its event is emitted by the caller)."""
    alert = Alert(id=new_id(), kind=ENDPOINT_DISABLED, subject_id=endpoint.id,
                  audience="owners", raised_at=now,
                  message=f"Webhook endpoint {endpoint.url} was disabled: "
                          f"{endpoint.disabled_reason}"[:500])
    session.add(alert)
    session.flush()
    return alert


def endpoint_alerts_cleared(session: Session, *, endpoint_id: Any, now: datetime) -> int:
    """Clear the endpoint's open `disabled` alerts: it was enabled again or deleted, so
    nothing is left to act on. The number cleared."""
    result = session.execute(update(Alert).where(
        Alert.kind == ENDPOINT_DISABLED, Alert.subject_id == endpoint_id,
        Alert.cleared_at.is_(None)).values(cleared_at=now, status="cleared")
        .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def consent_expiring(session: Session, *, integration: Any, now: datetime) -> bool:
    """Emit `integration.consent_expiring` and raise its alert when the integration's
    consent ends within the warning window and this end date has not been announced yet;
    clear the alerts of end dates that no longer hold (consent renewed). True if emitted."""
    expires = integration.consent_expires_at
    if expires is None:  # no consent to end (Yuki): nothing to announce or clear
        return False
    day = expires.date()
    session.execute(update(Alert).where(
        Alert.kind == CONSENT_EXPIRING, Alert.subject_id == integration.id,
        Alert.cleared_at.is_(None), Alert.crossing_date != day)
        .values(cleared_at=now, status="cleared")
        .execution_options(synchronize_session=False))
    if (integration.status != "connected"
            or not now < expires <= now + CONSENT_WARNING):
        return False
    inserted = session.execute(
        insert(Alert).values(
            id=new_id(), kind=CONSENT_EXPIRING, subject_id=integration.id,
            crossing_date=day, audience="owners", raised_at=now,
            message=f"The bank consent of {integration.display_name or integration.provider}"
                    f" ends on {day.isoformat()}: re-authorize the accounts before then.")
        .on_conflict_do_nothing(
            index_elements=[Alert.tenant_id, Alert.kind, Alert.subject_id,
                            Alert.crossing_date],
            index_where=Alert.kind == CONSENT_EXPIRING)
        .returning(Alert.id)).scalar_one_or_none()
    if inserted is None:
        return False
    emit(session=session, type="integration.consent_expiring", object_id=integration.id,
         obj=objects.integration_consent(integration))
    return True


def live_alerts(session: Session, *, kind: str, subject_id: Any) -> list[Alert]:
    """For tests and support: the uncleared alerts of one kind about one thing."""
    return list(session.execute(select(Alert).where(
        Alert.kind == kind, Alert.subject_id == subject_id,
        Alert.cleared_at.is_(None))).scalars())
