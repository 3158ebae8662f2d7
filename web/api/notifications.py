"""The bell: in-app notifications of the calling user, with the unread count."""

from __future__ import annotations

from typing import Any

from engine.notify import bell
from engine.read import copies
from web.api.endpoint import Call, endpoint
from web.api.schemas.requests import InboxQuery, MarkRead
from web.api.schemas.responses import Notification, NotificationsMarked, UnreadCounts, UnreadPage


@endpoint("GET", "/notifications", summary="The caller's in-app notifications (newest first) "
          "with the unread count", query=InboxQuery, ok=UnreadPage[Notification])
def list_notifications(call: Call, query: InboxQuery) -> dict[str, Any]:
    return bell.list_notifications(
        call.session,
        call.actor,
        unread_only=query.unread_only,
        page=query.page,
        per_page=query.per_page,
    )


@endpoint("GET", "/notifications/unread-count",
          summary="Unread notifications and copies (the bell)", ok=UnreadCounts)
def unread_count(call: Call) -> UnreadCounts:
    return UnreadCounts(
        unread=bell.unread_count(call.session, call.actor),
        cc_unread=copies.unread_cc_count(call.session, call.actor),
    )


@endpoint("POST", "/notifications/read", summary="Mark notifications read (all without ids)",
          body=MarkRead, ok=NotificationsMarked)
def mark_read(call: Call, body: MarkRead) -> NotificationsMarked:
    marked = bell.mark_read(call.ctx, call.session, call.actor, body.ids)
    return NotificationsMarked(
        marked=marked, unread=bell.unread_count(call.session, call.actor)
    )
