"""REST routes: /cashflow/{position,positions,forecast,recurring,planned-items,scenarios,
kpis} and /alerts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from smbfinance.cashflow import schemas
from smbfinance.cashflow import service as cashflow
from smbfinance.extensions import db
from smbfinance.web.api import AuthenticatedView, Blueprint
from smbfinance.web.auth import current_actor
from smbfinance.web.etag import expected_version, with_etag
from smbfinance.web.idempotency import idempotent

blp = Blueprint("cashflow", __name__, url_prefix="/api/v1",
                description="Cash position, forecast, scenarios, KPIs and low-cash alerts.")
BEARER = [{"bearerAuth": []}]


@blp.route("/cashflow/position")
class PositionView(AuthenticatedView):
    @blp.response(200, schemas.PositionOut)
    @blp.doc(security=BEARER)
    def get(self) -> Any:
        """Total cash in base currency, per account, with the oldest synchronisation."""
        return cashflow.get_position(session=db.session, actor=current_actor())


@blp.route("/cashflow/positions")
class PositionsView(AuthenticatedView):
    @blp.arguments(schemas.PositionsArgs, location="query")
    @blp.response(200, schemas.PositionList)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> Any:
        """Daily positions (snapshots); by week or month, the last day of each."""
        return {"data": cashflow.list_positions(session=db.session, actor=current_actor(),
                                                **args)}


@blp.route("/cashflow/forecast")
class ForecastView(AuthenticatedView):
    @blp.arguments(schemas.ForecastArgs, location="query")
    @blp.response(200, schemas.ForecastOut)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> Any:
        """Buckets with opening, inflows, outflows, closing, P10/P90 and every item's reason."""
        return cashflow.get_forecast(session=db.session, actor=current_actor(), **args)


@blp.route("/cashflow/kpis")
class KpisView(AuthenticatedView):
    @blp.response(200, schemas.KpisOut)
    @blp.doc(security=BEARER)
    def get(self) -> Any:
        """Runway, burn, DSO, DPO, owed per urgency, largest debtors and creditors."""
        return cashflow.get_kpis(session=db.session, actor=current_actor())


@blp.route("/cashflow/recurring")
class RecurringView(AuthenticatedView):
    @blp.response(200, schemas.SeriesList)
    @blp.doc(security=BEARER)
    def get(self) -> Any:
        """Recurring flows detected from bank history, with your decisions."""
        return {"data": cashflow.list_recurring(session=db.session, actor=current_actor())}


@blp.route("/cashflow/recurring/<uuid:series_id>")
class RecurringItemView(AuthenticatedView):
    @blp.arguments(schemas.SeriesDecision)
    @blp.response(200, schemas.SeriesOut)
    @blp.alt_response(412, description="If-Match does not match the current version")
    @blp.doc(security=BEARER)
    def patch(self, body: dict[str, Any], series_id: UUID) -> Any:
        """Confirm (optionally with your amount, period, dates) or dismiss a series."""
        return cashflow.decide_recurring(session=db.session, actor=current_actor(),
                                         series_id=series_id, changes=body,
                                         expected_version=expected_version())


@blp.route("/cashflow/planned-items")
class PlannedItems(AuthenticatedView):
    @blp.response(200, schemas.PlannedList)
    @blp.doc(security=BEARER)
    def get(self) -> Any:
        """Manual entries the forecast includes."""
        return {"data": cashflow.list_planned(session=db.session, actor=current_actor())}

    @blp.arguments(schemas.PlannedIn)
    @idempotent  # outside @blp.response: it stores the serialised response
    @blp.response(201, schemas.PlannedOut)
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> Any:
        """Plan a one-off or repeating amount (signed: + in, − out)."""
        item = cashflow.create_planned(session=db.session, actor=current_actor(), data=body)
        return with_etag(item, item.version, 201)


@blp.route("/cashflow/planned-items/<uuid:item_id>")
class PlannedItemView(AuthenticatedView):
    @blp.response(200, schemas.PlannedOut)
    @blp.doc(security=BEARER)
    def get(self, item_id: UUID) -> Any:
        """One planned item."""
        item = cashflow.get_planned(session=db.session, actor=current_actor(), item_id=item_id)
        return with_etag(item, item.version)

    @blp.arguments(schemas.PlannedPatch)
    @blp.response(200, schemas.PlannedOut)
    @blp.alt_response(412, description="If-Match does not match the current version")
    @blp.doc(security=BEARER)
    def patch(self, body: dict[str, Any], item_id: UUID) -> Any:
        """Change a planned item."""
        item = cashflow.update_planned(session=db.session, actor=current_actor(),
                                       item_id=item_id, changes=body,
                                       expected_version=expected_version())
        return with_etag(item, item.version)

    @blp.response(204)
    @blp.doc(security=BEARER)
    def delete(self, item_id: UUID) -> None:
        """Remove a planned item from the forecast."""
        cashflow.delete_planned(session=db.session, actor=current_actor(), item_id=item_id,
                                expected_version=expected_version())


@blp.route("/cashflow/scenarios")
class Scenarios(AuthenticatedView):
    @blp.response(200, schemas.ScenarioList)
    @blp.doc(security=BEARER)
    def get(self) -> Any:
        """Saved what-if scenarios."""
        return {"data": cashflow.list_scenarios(session=db.session, actor=current_actor())}

    @blp.arguments(schemas.ScenarioIn)
    @idempotent  # outside @blp.response: it stores the serialised response
    @blp.response(201, schemas.ScenarioOut)
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> Any:
        """Save a scenario; see its forecast at /cashflow/forecast?scenario_id=."""
        scenario = cashflow.create_scenario(session=db.session, actor=current_actor(),
                                            data=body)
        return with_etag(scenario, scenario.version, 201)


@blp.route("/cashflow/scenarios/<uuid:scenario_id>")
class ScenarioView(AuthenticatedView):
    @blp.response(200, schemas.ScenarioOut)
    @blp.doc(security=BEARER)
    def get(self, scenario_id: UUID) -> Any:
        """One scenario."""
        scenario = cashflow.get_scenario(session=db.session, actor=current_actor(),
                                         scenario_id=scenario_id)
        return with_etag(scenario, scenario.version)

    @blp.arguments(schemas.ScenarioPatch)
    @blp.response(200, schemas.ScenarioOut)
    @blp.alt_response(412, description="If-Match does not match the current version")
    @blp.doc(security=BEARER)
    def patch(self, body: dict[str, Any], scenario_id: UUID) -> Any:
        """Rename a scenario or replace its adjustments."""
        scenario = cashflow.update_scenario(session=db.session, actor=current_actor(),
                                            scenario_id=scenario_id, changes=body,
                                            expected_version=expected_version())
        return with_etag(scenario, scenario.version)

    @blp.response(204)
    @blp.doc(security=BEARER)
    def delete(self, scenario_id: UUID) -> None:
        """Delete a scenario (real data is never touched by one)."""
        cashflow.delete_scenario(session=db.session, actor=current_actor(),
                                 scenario_id=scenario_id, expected_version=expected_version())


@blp.route("/alerts")
class Alerts(AuthenticatedView):
    @blp.arguments(schemas.AlertListArgs, location="query")
    @blp.response(200, schemas.AlertList)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> Any:
        """Low-cash alerts, newest first."""
        return {"data": cashflow.list_alerts(session=db.session, actor=current_actor(), **args)}


@blp.route("/alerts/<uuid:alert_id>")
class AlertView(AuthenticatedView):
    @blp.response(200, schemas.AlertOut)
    @blp.doc(security=BEARER)
    def get(self, alert_id: UUID) -> Any:
        """One alert."""
        return cashflow.get_alert(session=db.session, actor=current_actor(), alert_id=alert_id)


@blp.route("/alerts/<uuid:alert_id>/acknowledge")
class AlertAcknowledge(AuthenticatedView):
    @blp.response(200, schemas.AlertOut)
    @blp.doc(security=BEARER)
    def post(self, alert_id: UUID) -> Any:
        """Say you have seen it."""
        return cashflow.acknowledge_alert(session=db.session, actor=current_actor(),
                                          alert_id=alert_id)


@blp.route("/alerts/<uuid:alert_id>/resolve")
class AlertResolve(AuthenticatedView):
    @blp.response(200, schemas.AlertOut)
    @blp.doc(security=BEARER)
    def post(self, alert_id: UUID) -> Any:
        """Close it by hand (no new alert until the forecast recovers and crosses again)."""
        return cashflow.resolve_alert(session=db.session, actor=current_actor(),
                                      alert_id=alert_id)
