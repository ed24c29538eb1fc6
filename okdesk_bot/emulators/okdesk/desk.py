"""Actions Okdesk notifies about: a state change followed by the matching webhook.

Both the REST API and the staff side go through :class:`Helpdesk`, so an issue created via
the API fires ``new_ticket`` exactly like one created by an employee. Payloads are built
right after the change (a snapshot), and delivery runs in background tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from okdesk_bot.emulators.okdesk import webhooks
from okdesk_bot.emulators.okdesk.state import (
    Actor,
    Attachment,
    Comment,
    FileUpload,
    Issue,
    IssueDraft,
    OkdeskState,
)
from okdesk_bot.emulators.okdesk.webhooks import WebhookSender


class Helpdesk:
    """The emulated account (:attr:`state`) wired to its webhook sender."""

    def __init__(self, state: OkdeskState, sender: WebhookSender) -> None:
        self.state = state
        self.sender = sender

    def create_issue(self, draft: IssueDraft) -> Issue:
        issue = self.state.create_issue(draft)
        self._emit(issue, "new_ticket", draft.author, source=issue.source)
        return issue

    def change_status(
        self,
        issue_id: int,
        code: str | None,
        *,
        author: Actor,
        comment: str | None = None,
        comment_public: bool = False,
        delay_to: datetime | None = None,
        enforce_requirements: bool = True,
        skip_webhooks: bool = False,
    ) -> Issue:
        change = self.state.change_status(
            issue_id,
            code,
            author=author,
            comment=comment,
            comment_public=comment_public,
            delay_to=delay_to,
            enforce_requirements=enforce_requirements,
        )
        if not skip_webhooks:
            extra = {} if change.comment is None else {"comment": webhooks.comment(change.comment)}
            self._emit(
                change.issue,
                "new_ticket_status",
                author,
                old_status=webhooks.code_name(change.old_status),
                new_status=webhooks.code_name(change.new_status),
                **extra,
                attachments=[],
            )
        return change.issue

    def add_comment(
        self,
        issue_id: int,
        content: str | None,
        *,
        author: Actor | None,
        public: bool,
        attachments: Sequence[FileUpload] = (),
    ) -> Comment:
        comment = self.state.add_comment(
            issue_id, content, author=author, public=public, attachments=attachments
        )
        self._emit(
            self.state.issue(issue_id),
            "new_comment",
            comment.author,
            comment=webhooks.comment(comment),
            attachments=self._attachments(comment.attachment_ids),
        )
        return comment

    def attach_files(
        self, issue_id: int, files: Sequence[FileUpload], *, author: Actor
    ) -> list[Attachment]:
        issue = self.state.issue(issue_id)
        added = self.state.add_attachments(issue, files, default_public=author.type == "contact")
        self._emit(
            issue,
            "new_files",
            author,
            attachments=self._attachments([attachment.id for attachment in added]),
        )
        return added

    def assign(self, issue_id: int, employee_id: int | None, *, author: Actor) -> Issue:
        issue, previous = self.state.assign(issue_id, employee_id)
        self._emit(
            issue,
            "new_assignee",
            author,
            old_assignee=webhooks.assignee(self.state, previous),
            new_assignee=webhooks.assignee(self.state, employee_id),
        )
        return issue

    def rate(self, issue_id: int, value: str | None, *, author: Actor) -> Issue:
        issue = self.state.rate(issue_id, value)
        self._emit(issue, "new_csat_rate", author, rate=issue.rate)
        return issue

    def delete_issue(self, issue_id: int, *, author: Actor) -> Issue:
        issue = self.state.issue(issue_id)
        payload = webhooks.deleted_issue_event(self.state, issue, author)
        self.state.delete_issue(issue_id)
        self.sender.emit(payload)
        return issue

    def _attachments(self, attachment_ids: Sequence[int]) -> list[webhooks.Json]:
        return [webhooks.attachment(a) for a in self.state.attachments_by_ids(attachment_ids)]

    def _emit(self, issue: Issue, event_type: str, author: Actor, **fields: object) -> None:
        self.sender.emit(webhooks.issue_event(self.state, issue, event_type, author, **fields))
