"""Partial indexes of each queue's unfinished rows, for the claim's look back.

A claim holds an event back while an earlier event of its issue is unprocessed (and a message
while an earlier one to its chat is unsent). It now looks for the nearest such row backwards
from the row, in an index of the unfinished rows alone. Before, it searched forwards from the
issue's first row, and in a flood about one ticket every look passed every row that had been
processed since the last vacuum: on PostgreSQL, claims grew to seconds.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 05:30:00
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out as in `okdesk_bot.db.models.status_in` at this revision.
_UNPROCESSED = text("status IN ('pending', 'processing')")
_UNSENT = text("status IN ('pending', 'sending', 'parked')")


def upgrade() -> None:
    op.create_index(
        "ix_inbox_events_unprocessed_issue_id",
        "inbox_events",
        ["okdesk_issue_id", "id"],
        postgresql_where=_UNPROCESSED,
        sqlite_where=_UNPROCESSED,
    )
    op.drop_index("ix_inbox_events_okdesk_issue_id_status_id", table_name="inbox_events")
    op.create_index(
        "ix_outbox_messages_unsent_chat_id",
        "outbox_messages",
        ["chat_id", "id"],
        postgresql_where=_UNSENT,
        sqlite_where=_UNSENT,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_unsent_chat_id", table_name="outbox_messages")
    op.create_index(
        "ix_inbox_events_okdesk_issue_id_status_id",
        "inbox_events",
        ["okdesk_issue_id", "status", "id"],
    )
    op.drop_index("ix_inbox_events_unprocessed_issue_id", table_name="inbox_events")
