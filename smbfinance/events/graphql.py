"""GraphQL face of the event feed: `events(cursor, types)` with REST's opaque cursor (a
`nextCursor` from either door reads on in the other) and `event(id)`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from smbfinance.events import feed, schemas
from smbfinance.graphql.context import actor_of
from smbfinance.graphql.inputs import fetch_or_none, given, graphql_errors, load


@strawberry.type(name="Event", description="Something that changed, as webhooks send it.")
class EventType:
    id: uuid.UUID = strawberry.field(description="The event id (the webhook body's id)")
    type: str = strawberry.field(description="e.g. invoice.paid")
    created_at: datetime
    object_id: uuid.UUID | None = strawberry.field(description="The changed object's uuid")
    data: JSON = strawberry.field(description="The object as REST's GET showed it when the "
                                              "event happened (snake_case keys)")

    @classmethod
    def of(cls, event: dict[str, Any]) -> EventType:
        return cls(id=uuid.UUID(event["id"]), type=event["type"],
                   created_at=datetime.fromisoformat(event["created_at"]),
                   object_id=uuid.UUID(event["object_id"]) if event["object_id"] else None,
                   data=event["data"])


@strawberry.type(name="EventFeed", description="A page of the feed, oldest first.")
class EventFeedType:
    events: list[EventType]
    has_more: bool = strawberry.field(description="More events wait after this page")
    next_cursor: str = strawberry.field(description="Pass as `cursor` to read on; given even "
                                                    "on an empty page: poll with it to wait "
                                                    "for new events")


@strawberry.type
class Query:
    @strawberry.field(description="Events after `cursor` (absent: from the oldest kept, at "
                                  "least 30 days), oldest first; `types` filters "
                                  "(e.g. [\"invoice.paid\"]).")
    def events(self, info: Info, cursor: str | None = None, types: list[str] | None = None,
               first: int | None = 50) -> EventFeedType:
        with graphql_errors():
            args = load(schemas.EventListArgs(), given(
                cursor=cursor, limit=first, types=",".join(types) if types else None))
            page = feed.list_events(session=info.context.session, actor=actor_of(info), **args)
        return EventFeedType(events=[EventType.of(e) for e in page.data],
                             has_more=page.has_more, next_cursor=page.next_cursor)

    @strawberry.field(description="One event (null when not found).")
    def event(self, info: Info, id: uuid.UUID) -> EventType | None:
        return fetch_or_none(lambda: EventType.of(feed.get_event(
            session=info.context.session, actor=actor_of(info), event_id=id)))
