"""GDPR erasure over the API: a member's erasure (sign-in gone, personal strings gone),
the refusals (yourself, the last owner, a person of another company too, twice), roles,
partner keys and cross-tenant attempts."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from smbfinance.db import transaction
from smbfinance.tenancy import public_scope, tenant_scope
from tests.factories import PASSWORD, add_member, login, signed_in, unique_email
from tests.invoicing import create_contact

ERASURE = "/api/v1/gdpr/erasure"
ERASURES = "/api/v1/gdpr/erasures"
PROBLEM_JSON = "application/problem+json"


def erase(client: Any, tenant: Any, subject_type: str, subject_id: Any) -> Any:
    return client.post(ERASURE, headers=tenant.headers,
                       json={"subject_type": subject_type, "subject_id": str(subject_id)})


def member_with_name(client: Any, owner: Any, role: str, full_name: str) -> Any:
    email = unique_email("mira")
    added = client.post("/api/v1/members", headers=owner.headers, json={
        "email": email, "role": role, "password": PASSWORD, "full_name": full_name})
    assert added.status_code == 201, added.get_json()
    return signed_in(login(client, email, tenant_id=str(owner.tenant_id)), email=email)


def test_erasing_a_member_removes_their_sign_in_and_their_strings(
        client, db_session, tenant_a) -> None:
    # given an accountant with a full name, whose email and name a contact's notes mention
    mira = member_with_name(client, tenant_a, "accountant", "Mira Claessens")
    contact = create_contact(client, tenant_a, "Notes BV",
                             notes=f"Ask Mira Claessens ({mira.email}) for the VAT file")
    # when the owner erases her
    erased = erase(client, tenant_a, "user", mira.user_id)
    # then the erasure is recorded
    assert erased.status_code == 201, erased.get_json()
    record = erased.get_json()
    pseudonym = f"erased-{mira.user_id.hex[-8:]}"
    assert (record["object"], record["subject_type"], record["pseudonym"]) == (
        "gdpr_erasure", "user", pseudonym)
    assert record["counts"]["users"] == 1 and record["counts"]["memberships"] == 1
    assert record["requested_by"] == str(tenant_a.user_id)
    # and her account holds no personal data and cannot sign in; her token is dead
    with public_scope(db_session), transaction(db_session):
        user = db_session.execute(text(
            "SELECT email, full_name, password_hash FROM users WHERE id = :id"),
            {"id": mira.user_id}).mappings().one()
    assert user["email"] == f"{pseudonym}@erased.invalid" and user["full_name"] is None
    assert login(client, mira.email).status_code == 401
    assert client.get("/api/v1/me", headers=mira.headers).status_code == 401
    members = client.get("/api/v1/members", headers=tenant_a.headers).get_json()["data"]
    assert str(mira.user_id) not in {m["user_id"] for m in members}
    # and the contact's notes name the pseudonym instead
    notes = client.get(f"/api/v1/contacts/{contact['id']}",
                       headers=tenant_a.headers).get_json()["notes"]
    assert "Mira" not in notes and mira.email not in notes and pseudonym in notes
    # and the audit chain verifies
    assert client.get("/api/v1/audit-log/verify",
                      headers=tenant_a.headers).get_json()["ok"] is True
    # and the erasure is listed
    listed = client.get(ERASURES, headers=tenant_a.headers).get_json()["data"]
    assert [e["id"] for e in listed] == [record["id"]]


def test_yourself_the_last_owner_and_people_of_other_companies_are_refused(
        client, tenant_a, tenant_b) -> None:
    # given an admin in A, and an accountant of A who also works for B
    admin = add_member(client, tenant_a, "admin")
    shared = add_member(client, tenant_a, "accountant")
    joined = client.post("/api/v1/members", headers=tenant_b.headers,
                         json={"email": shared.email, "role": "viewer"})
    assert joined.status_code == 201, joined.get_json()
    # when the owner erases herself, then 409
    itself = erase(client, tenant_a, "user", tenant_a.user_id)
    assert itself.status_code == 409 and itself.mimetype == PROBLEM_JSON
    # when the admin erases the only owner, then 409
    last = erase(client, admin, "user", tenant_a.user_id)
    assert last.status_code == 409 and "last owner" in last.get_json()["detail"]
    # when the shared person is erased, then 409 telling to leave the other company first
    other = erase(client, tenant_a, "user", shared.user_id)
    assert other.status_code == 409 and "other compan" in other.get_json()["detail"]
    # and nothing was changed: the shared person still signs in to both
    assert login(client, shared.email, tenant_id=str(tenant_b.tenant_id)).status_code == 200
    assert client.get(ERASURES, headers=tenant_a.headers).get_json()["data"] == []


def test_an_admin_cannot_erase_an_owner_while_an_owner_can(client, tenant_a) -> None:
    # given a second owner and an admin
    second = add_member(client, tenant_a, "owner")
    admin = add_member(client, tenant_a, "admin")
    # when the admin erases the second owner, then 403
    assert erase(client, admin, "user", second.user_id).status_code == 403
    # when the first owner does, then 201
    assert erase(client, tenant_a, "user", second.user_id).status_code == 201


def test_other_companies_roles_and_keys_cannot_erase(client, tenant_a, tenant_b) -> None:
    # given A's contact, A's accountant, and an erasure done in A
    contact = create_contact(client, tenant_a, "Cross Tenant BV")
    accountant = add_member(client, tenant_a, "accountant")
    viewer = add_member(client, tenant_a, "viewer")
    done = erase(client, tenant_a, "contact", create_contact(client, tenant_a, "Gone")["id"])
    assert done.status_code == 201
    # when B erases A's contact or A's member, then 404 and nothing changes
    assert erase(client, tenant_b, "contact", contact["id"]).status_code == 404
    assert erase(client, tenant_b, "user", accountant.user_id).status_code == 404
    assert erase(client, tenant_b, "user", tenant_a.user_id).status_code == 404
    assert client.get(f"/api/v1/contacts/{contact['id']}",
                      headers=tenant_a.headers).get_json()["name"] == "Cross Tenant BV"
    # and B's list does not show A's erasure
    assert client.get(ERASURES, headers=tenant_b.headers).get_json()["data"] == []
    # when an accountant or a viewer of A erases, or lists, then 403
    for member in (accountant, viewer):
        assert erase(client, member, "contact", contact["id"]).status_code == 403
        assert client.get(ERASURES, headers=member.headers).status_code == 403
    # when a partner key with every scope tries, then 403 (people only)
    key = client.post("/api/v1/api-keys", headers=tenant_a.headers,
                      json={"name": "Partner", "scopes": ["contacts:write"]}).get_json()
    keyed = client.post(ERASURE, headers={"Authorization": f"Bearer {key['secret']}"},
                        json={"subject_type": "contact", "subject_id": contact["id"]})
    assert keyed.status_code == 403
    assert client.post("/api/v1/gdpr/export",
                       headers={"Authorization": f"Bearer {key['secret']}"}).status_code == 403


def test_unknown_subjects_and_bad_bodies(client, tenant_a) -> None:
    # when the subject does not exist, then 404; a bad type or id, then 422
    assert erase(client, tenant_a, "contact", uuid.uuid4()).status_code == 404
    assert erase(client, tenant_a, "user", uuid.uuid4()).status_code == 404
    bad = client.post(ERASURE, headers=tenant_a.headers,
                      json={"subject_type": "invoice", "subject_id": str(uuid.uuid4())})
    assert bad.status_code == 422 and bad.mimetype == PROBLEM_JSON
    assert client.post(ERASURE, headers=tenant_a.headers,
                       json={"subject_type": "contact", "subject_id": "x"}).status_code == 422


def test_an_erasure_is_all_or_nothing(client, db_session, tenant_a, monkeypatch) -> None:
    # given a contact, and an audit redaction that fails half-way
    from smbfinance.gdpr import erasure_service

    contact = create_contact(client, tenant_a, "Atomic Anna", email="anna@example.org")

    def broken(*_args: Any, **_kwargs: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(erasure_service, "_redact_audit", broken)
    # when the erasure runs, then it fails
    assert erase(client, tenant_a, "contact", contact["id"]).status_code == 500
    # and the contact, its events and the erasure list are as they were
    shown = client.get(f"/api/v1/contacts/{contact['id']}", headers=tenant_a.headers)
    assert shown.get_json()["name"] == "Atomic Anna"
    assert shown.get_json()["email"] == "anna@example.org"
    with tenant_scope(db_session, tenant_a.tenant_id), transaction(db_session):
        erasures = db_session.execute(text("SELECT count(*) FROM gdpr_erasures")).scalar_one()
    assert erasures == 0
