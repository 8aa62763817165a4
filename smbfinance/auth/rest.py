"""REST routes for sign-up, sign-in, tokens, profile, tenant and members."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

from flask import current_app, request
from flask.views import MethodView

from smbfinance.auth import schemas
from smbfinance.auth import service as auth
from smbfinance.auth.models import Role
from smbfinance.extensions import db, limiter
from smbfinance.web.api import AuthenticatedView, Blueprint
from smbfinance.web.auth import current_actor, public_request, refresh_claims, token_settings

blp = Blueprint("auth", __name__, url_prefix="/api/v1",
                description="Sign-up, sign-in, tokens, the company profile and its members.")

BEARER = [{"bearerAuth": []}]


def _account_key() -> str:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    if not email:
        return "login-account:-"
    # A digest, not the address: flask-limiter logs the key when a limit is hit.
    digest = hashlib.sha256(str(email).strip().lower().encode()).hexdigest()[:32]
    return f"login-account:{digest}"


def _signed_in(result: auth.SignedIn) -> dict[str, Any]:
    return {**schemas.tokens_body(result.tokens), "tenant": result.tenant,
            "user": result.user, "role": result.role.value}


@blp.route("/auth/register")
class Register(MethodView):
    decorators = [limiter.limit(lambda: current_app.config["REGISTER_RATE_LIMIT_PER_IP"])]

    @blp.arguments(schemas.RegisterIn)
    @blp.response(201, schemas.RegisterOut)
    @blp.alt_response(409, description="An account with this email exists")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a company and its owner, and sign the owner in."""
        public_request()
        return _signed_in(auth.register(session=db.session, settings=token_settings(), **body))


@blp.route("/auth/login")
class Login(MethodView):
    decorators = [
        limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"],
                      key_func=_account_key),
        limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_PER_IP"]),
    ]

    @blp.arguments(schemas.LoginIn)
    @blp.response(200, schemas.LoginOut)
    @blp.alt_response(401, description="Wrong email or password")
    @blp.alt_response(409, description="Several companies: repeat with tenant_id")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Sign in for one company; returns an access and a refresh token."""
        public_request()
        return _signed_in(auth.login(session=db.session, settings=token_settings(), **body))


@blp.route("/auth/refresh")
class Refresh(MethodView):
    @blp.response(200, schemas.TokensOut)
    @blp.alt_response(401, description="Refresh token invalid, expired, revoked or reused")
    @blp.doc(security=BEARER, description="Send the refresh token as the Bearer token.")
    def post(self) -> dict[str, Any]:
        """Exchange a refresh token for a new pair (the old one stops working)."""
        claims = refresh_claims()
        pair = auth.refresh(session=db.session, settings=token_settings(), claims=claims)
        return schemas.tokens_body(pair)


@blp.route("/auth/logout")
class Logout(AuthenticatedView):
    @blp.response(204)
    @blp.alt_response(401, description="Not signed in")
    @blp.doc(security=BEARER)
    def post(self) -> None:
        """Revoke this sign-in: its refresh token and all its access tokens."""
        auth.logout(session=db.session, actor=current_actor())


@blp.route("/auth/switch-tenant")
class SwitchTenant(AuthenticatedView):
    @blp.arguments(schemas.SwitchTenantIn)
    @blp.response(200, schemas.LoginOut)
    @blp.alt_response(404, description="Not a member of that company")
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Get tokens for another company you belong to."""
        result = auth.switch_tenant(session=db.session, settings=token_settings(),
                                    actor=current_actor(), tenant_id=body["tenant_id"])
        return _signed_in(result)


@blp.route("/me")
class MeView(AuthenticatedView):
    @blp.response(200, schemas.MeOut)
    @blp.alt_response(401, description="Not signed in")
    @blp.doc(security=BEARER)
    def get(self) -> auth.Me:
        """Who am I: user, current company, role and all my companies."""
        return auth.get_me(session=db.session, actor=current_actor())


@blp.route("/tenant")
class TenantView(AuthenticatedView):
    @blp.response(200, schemas.TenantOut)
    @blp.alt_response(401, description="Not signed in")
    @blp.doc(security=BEARER)
    def get(self) -> Any:
        """The current company's profile and settings."""
        return auth.get_tenant(session=db.session, actor=current_actor())

    @blp.arguments(schemas.TenantPatch)
    @blp.response(200, schemas.TenantOut)
    @blp.alt_response(403, description="Only owners and admins change the profile")
    @blp.doc(security=BEARER)
    def patch(self, body: dict[str, Any]) -> Any:
        """Change the company profile (owner or admin)."""
        return auth.update_tenant(session=db.session, actor=current_actor(), changes=body)


@blp.route("/members")
class Members(AuthenticatedView):
    @blp.response(200, schemas.MemberList)
    @blp.alt_response(403, description="Only owners and admins manage members")
    @blp.doc(security=BEARER)
    def get(self) -> dict[str, Any]:
        """Everyone with access to this company."""
        return {"data": auth.list_members(session=db.session, actor=current_actor()),
                "has_more": False}

    @blp.arguments(schemas.MemberIn)
    @blp.response(201, schemas.MemberOut)
    @blp.alt_response(403, description="Only owners and admins manage members")
    @blp.alt_response(409, description="Already a member")
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> auth.Member:
        """Give a person access with a role."""
        return auth.add_member(session=db.session, actor=current_actor(),
                               **{**body, "role": Role(body["role"])})


@blp.route("/members/<uuid:user_id>")
class MemberView(AuthenticatedView):
    @blp.arguments(schemas.MemberPatch)
    @blp.response(200, schemas.MemberOut)
    @blp.alt_response(403, description="Only owners and admins manage members")
    @blp.alt_response(404, description="No such member")
    @blp.alt_response(409, description="The last owner cannot be demoted")
    @blp.doc(security=BEARER)
    def patch(self, body: dict[str, Any], user_id: UUID) -> auth.Member:
        """Change a member's role."""
        return auth.change_member_role(session=db.session, actor=current_actor(),
                                       user_id=user_id, role=Role(body["role"]))

    @blp.response(204)
    @blp.alt_response(403, description="Only owners and admins manage members")
    @blp.alt_response(404, description="No such member")
    @blp.alt_response(409, description="The last owner cannot be removed")
    @blp.doc(security=BEARER)
    def delete(self, user_id: UUID) -> None:
        """Remove a member's access (their tokens stop working at once)."""
        auth.remove_member(session=db.session, actor=current_actor(), user_id=user_id)
