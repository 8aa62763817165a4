"""Demo data for `make run`: one company, its owner and an accountant. Idempotent."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smbfinance.auth import service as auth
from smbfinance.auth import tokens
from smbfinance.auth.models import Role, User
from smbfinance.auth.permissions import Actor
from smbfinance.devstack.demo_data import create_demo_invoices
from smbfinance.invoices import service as invoices
from smbfinance.tenancy import public_scope, tenant_scope


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    created: bool


DEMO_EMAIL = "demo@smbfinance.local"
DEMO_PASSWORD = "demo-password-123"
DEMO_COMPANY = "Demo Bakery BV"


def seed_demo(*, session: Session, settings: tokens.TokenSettings) -> DemoLogin:
    with public_scope(session):
        exists = session.execute(
            select(User.id).where(func.lower(User.email) == DEMO_EMAIL)
        ).scalar_one_or_none()
        session.rollback()
    if exists is not None:
        return DemoLogin(DEMO_EMAIL, DEMO_PASSWORD, created=False)
    signed_in = auth.register(session=session, settings=settings, company_name=DEMO_COMPANY,
                              email=DEMO_EMAIL, password=DEMO_PASSWORD, full_name="Demo Owner")
    owner = Actor(user_id=signed_in.user.id, tenant_id=signed_in.tenant.id, role=Role.OWNER)
    with tenant_scope(session, owner.tenant_id):
        auth.update_tenant(session=session, actor=owner, changes={
            "vat_number": "BE0123456749", "enterprise_number": "0123.456.749",
            "settings": {"low_cash_threshold": "5000.00"},
        })
        auth.add_member(session=session, actor=owner, email="accountant@smbfinance.local",
                        role=Role.ACCOUNTANT, password=DEMO_PASSWORD, full_name="Demo Accountant")
        context = invoices.tenant_context(session, owner.tenant_id)
        session.rollback()
        create_demo_invoices(session=session, actor=owner, today=context.today)
    return DemoLogin(DEMO_EMAIL, DEMO_PASSWORD, created=True)


def demo_owner(*, session: Session, settings: tokens.TokenSettings) -> Actor:
    """The demo company's owner, found by signing in as them (as a person would)."""
    signed_in = auth.login(session=session, settings=settings, email=DEMO_EMAIL,
                           password=DEMO_PASSWORD)
    return Actor(user_id=signed_in.user.id, tenant_id=signed_in.tenant.id, role=Role.OWNER)
