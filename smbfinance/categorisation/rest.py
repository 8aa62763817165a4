"""REST routes for categories and categorisation rules."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from smbfinance.categorisation import schemas
from smbfinance.categorisation import service as categorisation
from smbfinance.extensions import db
from smbfinance.web.api import AuthenticatedView, Blueprint
from smbfinance.web.auth import current_actor
from smbfinance.web.etag import expected_version, with_etag
from smbfinance.web.idempotency import idempotent

blp = Blueprint("categorisation", __name__, url_prefix="/api/v1",
                description="Categories of bank transactions and the rules that assign them.")
BEARER = [{"bearerAuth": []}]
STALE = "If-Match does not match the current version"


@blp.route("/categories")
class Categories(AuthenticatedView):
    @blp.arguments(schemas.CategoryListArgs, location="query")
    @blp.response(200, schemas.CategoryList)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Categories by name (deleted ones are not listed)."""
        page = categorisation.list_categories(session=db.session, actor=current_actor(), **args)
        return {"data": page.items, "has_more": page.has_more}

    @blp.arguments(schemas.CategoryIn)
    @idempotent
    @blp.response(201, schemas.CategoryOut)
    @blp.alt_response(409, description="Another category has this name")
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> Any:
        """Create a category; names are unique, ignoring case (Idempotency-Key supported)."""
        category = categorisation.create_category(session=db.session, actor=current_actor(),
                                                  data=body)
        return with_etag(category, category.version, 201)


@blp.route("/categories/<uuid:category_id>")
class CategoryView(AuthenticatedView):
    @blp.response(200, schemas.CategoryOut)
    @blp.doc(security=BEARER)
    def get(self, category_id: UUID) -> Any:
        """One category (with its ETag)."""
        category = categorisation.get_category(session=db.session, actor=current_actor(),
                                               category_id=category_id)
        return with_etag(category, category.version)

    @blp.arguments(schemas.CategoryPatch)
    @blp.response(200, schemas.CategoryOut)
    @blp.alt_response(409, description="Another category has this name")
    @blp.alt_response(412, description=STALE)
    @blp.doc(security=BEARER)
    def patch(self, body: dict[str, Any], category_id: UUID) -> Any:
        """Rename or recolour a category; send If-Match with the ETag you read."""
        category = categorisation.update_category(
            session=db.session, actor=current_actor(), category_id=category_id, changes=body,
            expected_version=expected_version())
        return with_etag(category, category.version)

    @blp.response(204)
    @blp.alt_response(412, description=STALE)
    @blp.doc(security=BEARER)
    def delete(self, category_id: UUID) -> None:
        """Delete a category (soft: transactions keep it, rules stop setting it)."""
        categorisation.delete_category(session=db.session, actor=current_actor(),
                                       category_id=category_id,
                                       expected_version=expected_version())


@blp.route("/rules")
class Rules(AuthenticatedView):
    @blp.arguments(schemas.RuleListArgs, location="query")
    @blp.response(200, schemas.RuleList)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Rules in the order they run: priority (lowest first), then creation."""
        page = categorisation.list_rules(session=db.session, actor=current_actor(), **args)
        return {"data": page.items, "has_more": page.has_more}

    @blp.arguments(schemas.RuleIn)
    @idempotent
    @blp.response(201, schemas.RuleOut)
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> Any:
        """Create a rule: conditions (all must hold) and actions (Idempotency-Key supported)."""
        rule = categorisation.create_rule(session=db.session, actor=current_actor(), data=body)
        return with_etag(rule, rule.version, 201)


@blp.route("/rules/apply")
class ApplyRules(AuthenticatedView):
    @blp.arguments(schemas.ApplyIn)
    @idempotent
    @blp.response(200, schemas.ApplyOut)
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> Any:
        """Apply the rules again to some or all transactions; a transaction categorised by
        hand is left alone, and applying twice changes nothing the second time."""
        return categorisation.apply_rules(session=db.session, actor=current_actor(),
                                          transaction_ids=body.get("transaction_ids"))


@blp.route("/rules/<uuid:rule_id>")
class RuleView(AuthenticatedView):
    @blp.response(200, schemas.RuleOut)
    @blp.doc(security=BEARER)
    def get(self, rule_id: UUID) -> Any:
        """One rule (with its ETag)."""
        rule = categorisation.get_rule(session=db.session, actor=current_actor(),
                                       rule_id=rule_id)
        return with_etag(rule, rule.version)

    @blp.arguments(schemas.RulePatch)
    @blp.response(200, schemas.RuleOut)
    @blp.alt_response(412, description=STALE)
    @blp.doc(security=BEARER)
    def patch(self, body: dict[str, Any], rule_id: UUID) -> Any:
        """Change a rule; conditions or actions sent replace the old ones whole."""
        rule = categorisation.update_rule(session=db.session, actor=current_actor(),
                                          rule_id=rule_id, changes=body,
                                          expected_version=expected_version())
        return with_etag(rule, rule.version)

    @blp.response(204)
    @blp.alt_response(412, description=STALE)
    @blp.doc(security=BEARER)
    def delete(self, rule_id: UUID) -> None:
        """Delete a rule (soft: what it categorised stays)."""
        categorisation.delete_rule(session=db.session, actor=current_actor(), rule_id=rule_id,
                                   expected_version=expected_version())
