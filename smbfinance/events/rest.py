"""REST routes of the event feed."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from smbfinance.events import feed, schemas
from smbfinance.extensions import db
from smbfinance.web.api import AuthenticatedView, Blueprint
from smbfinance.web.auth import current_actor

blp = Blueprint("events", __name__, url_prefix="/api/v1/events",
                description="What changed, in order: the feed partners replay from.")
BEARER = [{"bearerAuth": []}]


@blp.route("")
class Events(AuthenticatedView):
    @blp.arguments(schemas.EventListArgs, location="query")
    @blp.response(200, schemas.EventList)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> Any:
        """Events after `cursor`, oldest first (kept at least 30 days); filter by `types`."""
        page = feed.list_events(session=db.session, actor=current_actor(), **args)
        return {"data": page.data, "has_more": page.has_more, "next_cursor": page.next_cursor}


@blp.route("/<uuid:event_id>")
class EventView(AuthenticatedView):
    @blp.response(200, schemas.EventOut)
    @blp.doc(security=BEARER)
    def get(self, event_id: UUID) -> Any:
        """One event."""
        return feed.get_event(session=db.session, actor=current_actor(), event_id=event_id)
