"""GraphQL face of auth: `me`, `tenant`, and `tenantUpdate`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from smbfinance.auth import schemas, tenant_settings
from smbfinance.auth import service as auth
from smbfinance.auth.identifiers import format_enterprise_number
from smbfinance.errors import DomainError
from smbfinance.graphql import inputs
from smbfinance.graphql.context import actor_of
from smbfinance.graphql.errors import (
    DomainGraphQLError,
    UserError,
)


@strawberry.type(name="User")
class UserType:
    id: uuid.UUID
    email: str
    full_name: str | None
    last_login_at: datetime | None
    created_at: datetime


@strawberry.type(name="Tenant", description="A company and its settings.")
class TenantType:
    id: uuid.UUID
    legal_name: str
    vat_number: str | None
    enterprise_number: str | None = strawberry.field(description="Formatted 0123.456.749")
    peppol_id: str | None = strawberry.field(description="Peppol participant id")
    base_currency: str
    time_zone: str
    settings: JSON = strawberry.field(description="Effective settings (defaults filled in)")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, tenant: Any) -> TenantType:
        return cls(
            id=tenant.id, legal_name=tenant.legal_name, vat_number=tenant.vat_number,
            enterprise_number=format_enterprise_number(tenant.enterprise_number)
            if tenant.enterprise_number else None,
            peppol_id=tenant.peppol_id,
            base_currency=tenant.base_currency, time_zone=tenant.time_zone,
            settings=schemas.TenantSettingsSchema().dump(
                tenant_settings.effective(tenant.settings)),
            created_at=tenant.created_at, updated_at=tenant.updated_at,
        )


@strawberry.type(name="TenantMembership")
class TenantChoiceType:
    tenant_id: uuid.UUID
    legal_name: str
    role: str


@strawberry.type(name="Me")
class MeType:
    user: UserType
    tenant: TenantType
    role: str
    memberships: list[TenantChoiceType]


@strawberry.input(description="Only the fields given change.")
class TenantUpdateInput:
    legal_name: str | None = strawberry.UNSET
    vat_number: str | None = strawberry.UNSET
    enterprise_number: str | None = strawberry.UNSET
    peppol_id: str | None = strawberry.UNSET
    base_currency: str | None = strawberry.UNSET
    time_zone: str | None = strawberry.UNSET
    settings: JSON | None = strawberry.UNSET


@strawberry.type
class TenantUpdatePayload:
    tenant: TenantType | None
    errors: list[UserError]


def _user(user: Any) -> UserType:
    return UserType(id=user.id, email=user.email, full_name=user.full_name,
                    last_login_at=user.last_login_at, created_at=user.created_at)


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in user, company, role and companies.")
    def me(self, info: Info) -> MeType:
        try:
            me = auth.get_me(session=info.context.session, actor=actor_of(info))
        except DomainError as error:
            raise DomainGraphQLError(error) from error
        return MeType(
            user=_user(me.user), tenant=TenantType.of(me.tenant), role=me.role.value,
            memberships=[TenantChoiceType(tenant_id=c.tenant_id, legal_name=c.legal_name,
                                          role=c.role.value) for c in me.memberships],
        )

    @strawberry.field(description="The current company's profile and settings.")
    def tenant(self, info: Info) -> TenantType:
        try:
            tenant = auth.get_tenant(session=info.context.session, actor=actor_of(info))
        except DomainError as error:
            raise DomainGraphQLError(error) from error
        return TenantType.of(tenant)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Change the company profile (owner or admin).")
    def tenant_update(self, info: Info, input: TenantUpdateInput) -> TenantUpdatePayload:
        tenant, errors = inputs.attempt(lambda: auth.update_tenant(
            session=info.context.session, actor=actor_of(info),
            changes=inputs.load(schemas.TenantPatch(), inputs.plain(input))))
        return TenantUpdatePayload(tenant=TenantType.of(tenant) if tenant else None,
                                   errors=errors)
