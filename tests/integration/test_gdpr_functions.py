"""The database functions of migration 0011 run with the owner's rights, so each must keep
to the caller's company on its own: audit redaction only of the caller's entries (and the
app role still cannot UPDATE audit entries itself), the other-memberships count only for
a member of the caller's company, the purge only under the cross-tenant scope."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from smbfinance.db import transaction
from smbfinance.tenancy import dangerously_unscoped, public_scope, tenant_scope
from tests.invoicing import create_contact

REDACT = text("SELECT gdpr_redact_audit_entry(:id, CAST(:b AS jsonb), CAST(:a AS jsonb))")


def entry_of(db_session, tenant) -> dict:
    with tenant_scope(db_session, tenant.tenant_id), transaction(db_session):
        return dict(db_session.execute(text(
            "SELECT id, after, redacted_at FROM audit_entries ORDER BY seq DESC LIMIT 1"))
            .mappings().one())


def test_redaction_reaches_only_the_callers_entries(client, db_session, tenant_a,
                                                    tenant_b) -> None:
    # given an audit entry in each company
    create_contact(client, tenant_a, "Alpha Contact")
    create_contact(client, tenant_b, "Beta Contact")
    theirs = entry_of(db_session, tenant_b)
    mine = entry_of(db_session, tenant_a)
    # when A redacts B's entry by its id, then nothing happens
    with tenant_scope(db_session, tenant_a.tenant_id), transaction(db_session):
        assert db_session.execute(REDACT, {"id": theirs["id"], "b": None,
                                           "a": '{"name": "x"}'}).scalar_one() is False
    assert entry_of(db_session, tenant_b) == theirs
    # when A redacts its own entry, then it is rewritten and marked
    with tenant_scope(db_session, tenant_a.tenant_id), transaction(db_session):
        assert db_session.execute(REDACT, {"id": mine["id"], "b": None,
                                           "a": '{"name": "x"}'}).scalar_one() is True
    after = entry_of(db_session, tenant_a)
    assert after["after"] == {"name": "x"} and after["redacted_at"] is not None


def test_without_a_tenant_redaction_is_refused(db_session) -> None:
    with public_scope(db_session), pytest.raises(DBAPIError, match="needs a tenant scope"), \
            transaction(db_session):
        db_session.execute(REDACT, {"id": "00000000-0000-0000-0000-000000000000",
                                    "b": None, "a": None})


def test_the_app_role_still_cannot_update_audit_entries(client, db_session, tenant_a) -> None:
    # given an entry, and the redaction switch turned on by the app itself
    create_contact(client, tenant_a, "Alpha Contact")
    mine = entry_of(db_session, tenant_a)
    # when the app role updates the entry directly, then the grant is missing
    with tenant_scope(db_session, tenant_a.tenant_id), \
            pytest.raises(DBAPIError, match="permission denied"), transaction(db_session):
        db_session.execute(text("SELECT set_config('smbfinance.audit_redaction', 'on', true)"))
        db_session.execute(text("UPDATE audit_entries SET after = NULL,"
                                " redacted_at = now() WHERE id = :id"), {"id": mine["id"]})


def test_other_memberships_are_counted_only_for_members_here(client, db_session, tenant_a,
                                                             tenant_b) -> None:
    # given A's owner, who is not a member of B
    query = text("SELECT gdpr_user_other_memberships(:id)")
    with tenant_scope(db_session, tenant_a.tenant_id), transaction(db_session):
        assert db_session.execute(query, {"id": tenant_a.user_id}).scalar_one() == 0
    # when B asks about A's owner, then there is no answer at all
    with tenant_scope(db_session, tenant_b.tenant_id), transaction(db_session):
        assert db_session.execute(query, {"id": tenant_a.user_id}).scalar_one() is None


def test_the_purge_needs_the_cross_tenant_scope(db_session, tenant_a) -> None:
    query = text("SELECT gdpr_purge_expired_exports()")
    with tenant_scope(db_session, tenant_a.tenant_id), \
            pytest.raises(DBAPIError, match="cross-tenant scope"), transaction(db_session):
        db_session.execute(query)
    with dangerously_unscoped(db_session, reason="test"), transaction(db_session):
        assert db_session.execute(query).scalar_one() >= 0
