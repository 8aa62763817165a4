"""Who may do what. Roles map to permissions; services check permissions, never roles,
so that API-key scopes can later map onto the same names."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from smbfinance.auth.models import Role
from smbfinance.errors import Forbidden


class Permission(enum.StrEnum):
    TENANT_READ = "tenant:read"
    TENANT_WRITE = "tenant:write"
    MEMBERS_READ = "members:read"
    MEMBERS_WRITE = "members:write"
    OWNERSHIP = "ownership"
    FINANCE_READ = "finance:read"
    FINANCE_WRITE = "finance:write"
    INTEGRATION_SECRETS = "integrations:secrets"
    AUDIT_READ = "audit:read"
    API_KEYS = "api_keys:manage"
    GDPR = "gdpr:manage"


_ALL = frozenset(Permission)
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: _ALL,
    Role.ADMIN: _ALL - {Permission.OWNERSHIP},
    Role.ACCOUNTANT: frozenset(
        {Permission.TENANT_READ, Permission.FINANCE_READ, Permission.FINANCE_WRITE,
         Permission.AUDIT_READ}
    ),
    Role.VIEWER: frozenset({Permission.TENANT_READ, Permission.FINANCE_READ}),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting, for one tenant. Built only from a verified credential."""

    user_id: uuid.UUID | None
    tenant_id: uuid.UUID
    role: Role
    family_id: uuid.UUID | None = None
    kind: str = "user"
    api_key_id: uuid.UUID | None = None
    scopes: frozenset[str] = frozenset()

    def can(self, permission: Permission) -> bool:
        if self.kind == "api_key":
            return permission in _key_permissions(self.scopes)
        return permission in ROLE_PERMISSIONS[self.role]

    @property
    def id(self) -> uuid.UUID | None:
        """Who to name in the audit log: the user, or the API key."""
        return self.user_id if self.user_id is not None else self.api_key_id


def system_actor(tenant_id: uuid.UUID) -> Actor:
    """Work done on nobody's request (a sync writing provider data): the audit log names
    the system (kind, no id); the role lets it do everything but transfer ownership."""
    return Actor(user_id=None, tenant_id=tenant_id, role=Role.ADMIN, kind="system")


def _key_permissions(scopes: frozenset[str]) -> frozenset[Permission]:
    """What a key's scopes allow at the service level; which route is open to which scope
    is decided before (web/auth.py, auth/scopes.py): services only see finance reads and
    writes, and the audit log."""
    granted = {Permission.TENANT_READ, Permission.FINANCE_READ} if scopes else set()
    if any(scope.endswith(":write") for scope in scopes):
        granted.add(Permission.FINANCE_WRITE)
    if "audit:read" in scopes:
        granted.add(Permission.AUDIT_READ)
    return frozenset(granted)


def require(actor: Actor, permission: Permission) -> None:
    if not actor.can(permission):
        raise Forbidden(f"your role ({actor.role.value}) does not allow {permission.value}")
