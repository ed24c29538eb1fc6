"""Ownership: the server-side check made before every action that names a ticket.

Ticket ids come from buttons and replies, which a user can forge or replay; the only trusted
facts are the stored binding of the Telegram user to an Okdesk contact and what Okdesk says
about the ticket.
"""

from __future__ import annotations

import logging

from okdesk_bot.db.models import User
from okdesk_bot.okdesk import Issue, OkdeskClient, OkdeskNotFoundError
from okdesk_bot.services.errors import NotRegisteredError, TicketAccessDeniedError

log = logging.getLogger(__name__)


def require_registered(user: User | None) -> User:
    """The user, if registration bound them to an Okdesk contact."""
    if user is None or user.registered_at is None or user.okdesk_contact_id is None:
        raise NotRegisteredError
    return user


async def owned_issue(okdesk: OkdeskClient, user: User | None, issue_id: int) -> Issue:
    """The ticket, read from Okdesk, if its contact is the user's; else an access error."""
    owner = require_registered(user)
    try:
        issue = await okdesk.get_issue(issue_id)
    except OkdeskNotFoundError:
        raise TicketAccessDeniedError from None
    if issue.contact_id != owner.okdesk_contact_id:
        log.warning(
            "User %s asked for ticket %s of another contact", owner.telegram_user_id, issue_id
        )
        raise TicketAccessDeniedError
    return issue
