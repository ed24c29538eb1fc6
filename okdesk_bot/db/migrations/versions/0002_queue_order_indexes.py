"""Queue-order indexes that include the status, so claims stay fast as history grows.

A claim holds an event back while an earlier event about the same issue is unprocessed (and
a message while an earlier one to the same chat is unsent). The old indexes, on the issue
(or the chat and id) alone, made that check read every processed row of the issue, so a
claim slowed down with the issue's history: about 200 ms with 3,500 processed events of one
busy issue on SQLite, holding SQLite's only write lock all the while. With the status in the
index the check is a few index steps.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 00:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_inbox_events_okdesk_issue_id_status_id",
        "inbox_events",
        ["okdesk_issue_id", "status", "id"],
    )
    op.drop_index("ix_inbox_events_okdesk_issue_id", table_name="inbox_events")
    op.create_index(
        "ix_outbox_messages_chat_id_status_id", "outbox_messages", ["chat_id", "status", "id"]
    )
    op.drop_index("ix_outbox_messages_chat_id_id", table_name="outbox_messages")


def downgrade() -> None:
    op.create_index("ix_outbox_messages_chat_id_id", "outbox_messages", ["chat_id", "id"])
    op.drop_index("ix_outbox_messages_chat_id_status_id", table_name="outbox_messages")
    op.create_index("ix_inbox_events_okdesk_issue_id", "inbox_events", ["okdesk_issue_id"])
    op.drop_index("ix_inbox_events_okdesk_issue_id_status_id", table_name="inbox_events")
