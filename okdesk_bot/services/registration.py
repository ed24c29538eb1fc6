"""Registration: find the client's company and Okdesk contact, and bind the Telegram user to it.

Telegram-agnostic: the bot collects the answers (kind, company, name, phone) and hands them over
as an :class:`Applicant`. The rules that keep one person from taking over another's contact:

* a contact is found by phone, trying every form Okdesk may have stored the number in (Okdesk
  compares phone strings exactly), and for a legal entity only inside the confirmed company;
* an existing contact is bound only when the phone was shared from the person's own Telegram
  account (Telegram vouches for it); a typed phone that matches must be confirmed that way;
* otherwise a new contact is created. When Okdesk may have created it without telling us
  (a write with ``outcome_unknown``), the next attempt searches first and accepts the contact
  that carries exactly the data we sent, instead of creating a second one;
* the binding is committed before anyone is told that registration is done; nothing is stored
  when a step fails, so the person can simply try again;
* the current status of each of the contact's tickets is then recorded as what its people
  know (best effort): a change after this moment is news even when its webhook is lost before
  reconciliation first looks at the contact.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Protocol

from okdesk_bot.db.models import User, UserKind
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.domain.identity import PersonName, phone_search_variants
from okdesk_bot.okdesk import (
    Company,
    Contact,
    ContactCreate,
    Issue,
    OkdeskError,
    OkdeskUnavailableError,
    OkdeskValidationError,
)
from okdesk_bot.services.access import require_registered
from okdesk_bot.services.errors import ServiceError
from okdesk_bot.services.notifications import NoticeLedger

log = logging.getLogger(__name__)

TICKET_SNAPSHOT_TIMEOUT: Final = 10.0
"""Seconds registration may spend reading the contact's tickets before it answers anyway."""


class OkdeskDirectory(Protocol):
    """The part of the Okdesk client registration needs (`OkdeskClient` provides it)."""

    async def find_company_by_inn(self, inn: str, *, parameter_code: str) -> Company | None: ...

    async def find_contacts_by_phone(self, phone: str) -> list[Contact]: ...

    async def create_contact(self, contact: ContactCreate) -> Contact: ...

    def iter_issues(self, *, contact_ids: Sequence[int] = ()) -> AsyncIterator[Issue]: ...


class RegistrationError(ServiceError):
    """Registration could not go on; the person is told why and can try again."""


class CompanyNotFoundError(RegistrationError):
    """No client company in Okdesk has this INN."""

    text_key = "reg-inn-unknown"


class PhoneConfirmationRequiredError(RegistrationError):
    """A typed phone belongs to an existing contact: only sharing it proves it is theirs."""

    text_key = "reg-phone-confirm-required"


class RegistrationUnavailableError(RegistrationError):
    """Okdesk could not be asked (down, slow, misconfigured); trying again later may work.

    `contact_maybe_created` is True when a new contact may exist in Okdesk although no answer
    said so: the next attempt must then accept that contact rather than create another one.
    """

    text_key = "reg-okdesk-unavailable"

    def __init__(self, *, contact_maybe_created: bool = False) -> None:
        super().__init__("Okdesk could not complete a registration step")
        self.contact_maybe_created = contact_maybe_created


class ContactRejectedError(RegistrationError):
    """Okdesk refused to create the contact with the data given."""

    text_key = "reg-contact-rejected"


@dataclass(frozen=True, slots=True)
class CompanyChoice:
    """The client company a legal-entity applicant found by INN and confirmed."""

    id: int
    name: str
    inn: str


@dataclass(frozen=True, slots=True)
class Applicant:
    """Everything the dialog collected from one Telegram user.

    `phone` is in E.164; `phone_verified` is True only when it came from the person's own
    contact card (shared with the button). `contact_maybe_created` is True when an earlier
    attempt may have created a contact with exactly this name, phone and company.
    """

    telegram_user_id: int
    chat_id: int
    language_code: str | None
    kind: UserKind
    name: PersonName
    phone: str
    phone_verified: bool
    company: CompanyChoice | None = None
    contact_maybe_created: bool = False

    @property
    def company_id(self) -> int | None:
        return self.company.id if self.company else None


@dataclass(frozen=True, slots=True)
class Registration:
    """A stored binding: the user row and whether the Okdesk contact was created for it."""

    user: User
    contact_created: bool


async def find_company(okdesk: OkdeskDirectory, inn: str, *, parameter_code: str) -> CompanyChoice:
    """The client company with this (already validated) INN, checked on the record itself."""
    try:
        company = await okdesk.find_company_by_inn(inn, parameter_code=parameter_code)
    except OkdeskError as error:
        raise _unavailable("look up a company by INN", error) from None
    if company is None:
        raise CompanyNotFoundError
    return CompanyChoice(id=company.id, name=_company_name(company), inn=inn)


async def find_contact(
    okdesk: OkdeskDirectory, phone: str, *, company_id: int | None
) -> Contact | None:
    """The contact whose stored phone is one of the forms of `phone` (E.164), likeliest first.

    With `company_id`, only a contact of that company counts.
    """
    for variant in phone_search_variants(phone):
        for contact in await okdesk.find_contacts_by_phone(variant):
            if company_id is None or contact.company_id == company_id:
                return contact
    return None


async def register(okdesk: OkdeskDirectory, uow: UnitOfWork, applicant: Applicant) -> Registration:
    """Bind the applicant to their Okdesk contact (found or created) and commit the binding.

    Raises :class:`PhoneConfirmationRequiredError`, :class:`RegistrationUnavailableError` or
    :class:`ContactRejectedError`; in every such case nothing is stored.
    """
    contact, created = await _resolve_contact(okdesk, applicant)
    user = await _store_binding(uow, applicant, contact)
    await uow.commit()
    log.info(
        "Telegram user %s registered as %s, Okdesk contact %s (%s)",
        applicant.telegram_user_id,
        applicant.kind.value,
        contact.id,
        "created" if created else "existing",
    )
    await _remember_ticket_statuses(okdesk, uow, contact.id)
    return Registration(user=user, contact_created=created)


async def _remember_ticket_statuses(
    okdesk: OkdeskDirectory, uow: UnitOfWork, contact_id: int
) -> None:
    """Record the status of each of the contact's tickets as known, where nothing is yet.

    Reconciliation takes a contact's statuses as they are when it first sees the contact, up
    to a poll interval later: a change in between whose webhook is lost would go unnoticed.
    Best effort: registration is done already, and if Okdesk fails here (or takes longer than
    `TICKET_SNAPSHOT_TIMEOUT`, the person is waiting for the answer), only that gap stays.
    """
    try:
        async with asyncio.timeout(TICKET_SNAPSHOT_TIMEOUT):
            issues = [issue async for issue in okdesk.iter_issues(contact_ids=[contact_id])]
    except (OkdeskError, TimeoutError) as exc:
        reason = exc.message if isinstance(exc, OkdeskError) else "no answer in time"
        log.warning(
            "Could not read the tickets of Okdesk contact %s at registration: %s",
            contact_id,
            reason,
        )
        return
    ledger = NoticeLedger(uow.app_state)
    for issue in issues:
        if issue.status is not None:
            await ledger.remember_status(issue.id, issue.status)
    await uow.commit()


async def unregister(uow: UnitOfWork, user: User | None) -> None:
    """Forget the user's binding here; the contact and its tickets stay in Okdesk."""
    owner = require_registered(user)
    contact_id = owner.okdesk_contact_id
    await uow.users.clear_binding(owner.telegram_user_id)
    await uow.commit()
    log.info("Telegram user %s unbound from Okdesk contact %s", owner.telegram_user_id, contact_id)


async def _resolve_contact(okdesk: OkdeskDirectory, applicant: Applicant) -> tuple[Contact, bool]:
    try:
        existing = await find_contact(okdesk, applicant.phone, company_id=applicant.company_id)
    except OkdeskError as error:
        raise _unavailable(
            "search contacts by phone", error, maybe_created=applicant.contact_maybe_created
        ) from None
    if existing is not None:
        if applicant.phone_verified or (
            applicant.contact_maybe_created and _is_contact_we_sent(existing, applicant)
        ):
            return existing, False
        log.info(
            "Telegram user %s typed the phone of Okdesk contact %s; asking to share it",
            applicant.telegram_user_id,
            existing.id,
        )
        raise PhoneConfirmationRequiredError
    return await _create_contact(okdesk, applicant), True


async def _create_contact(okdesk: OkdeskDirectory, applicant: Applicant) -> Contact:
    try:
        return await okdesk.create_contact(_new_contact(applicant))
    except OkdeskValidationError as error:
        log.warning(
            "Okdesk refused a contact for Telegram user %s: fields %s, %s",
            applicant.telegram_user_id,
            sorted(error.field_errors),
            error.general_errors,
        )
        raise ContactRejectedError from None
    except OkdeskError as error:
        raise _unavailable(
            "create a contact",
            error,
            maybe_created=applicant.contact_maybe_created or error.outcome_unknown,
        ) from None


def _new_contact(applicant: Applicant) -> ContactCreate:
    name = applicant.name
    return ContactCreate(
        last_name=name.last_name,
        first_name=name.first_name,
        patronymic=name.patronymic,
        phone=applicant.phone,
        company_id=applicant.company_id,
    )


def _is_contact_we_sent(contact: Contact, applicant: Applicant) -> bool:
    """The contact carries exactly what an earlier, unanswered create sent."""
    sent = _new_contact(applicant)
    return (
        contact.phone == sent.phone
        and contact.last_name == sent.last_name
        and contact.first_name == sent.first_name
        and (contact.patronymic or None) == sent.patronymic
        and contact.company_id == sent.company_id
    )


async def _store_binding(uow: UnitOfWork, applicant: Applicant, contact: Contact) -> User:
    await uow.users.get_or_create(
        applicant.telegram_user_id,
        chat_id=applicant.chat_id,
        language_code=applicant.language_code,
    )
    company = applicant.company
    name = applicant.name
    return await uow.users.save_binding(
        applicant.telegram_user_id,
        kind=applicant.kind,
        phone=applicant.phone,
        okdesk_contact_id=contact.id,
        okdesk_company_id=company.id if company else contact.company_id,
        company_name=company.name if company else None,
        registered_at=datetime.now(UTC),
        full_name=name.full,
        last_name=name.last_name,
        first_name=name.first_name,
        patronymic=name.patronymic,
    )


def _company_name(company: Company) -> str:
    return company.name or company.additional_name or f"#{company.id}"


def _unavailable(
    action: str, error: OkdeskError, *, maybe_created: bool = False
) -> RegistrationUnavailableError:
    """Log why Okdesk failed (its messages never hold the token) and wrap it for the user."""
    if isinstance(error, OkdeskUnavailableError):
        log.warning("Registration could not %s: %s", action, error.message)
    else:
        log.error("Registration could not %s: %r", action, error)
    return RegistrationUnavailableError(contact_maybe_created=maybe_created)
