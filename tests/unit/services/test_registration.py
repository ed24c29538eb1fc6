"""The binding rules of registration, with a scripted Okdesk directory and a real database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import get_args

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from okdesk_bot.bot.handlers.registration import INN_ERRORS, NAME_ERRORS, PHONE_ERRORS
from okdesk_bot.db.models import User, UserKind
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.domain.errors import InnErrorReason, NameErrorReason, PhoneErrorReason
from okdesk_bot.domain.identity import PersonName, phone_search_variants
from okdesk_bot.okdesk import (
    Company,
    Contact,
    ContactCreate,
    Issue,
    OkdeskConnectionError,
    OkdeskError,
    OkdeskServerError,
    OkdeskValidationError,
    Status,
)
from okdesk_bot.services import registration
from okdesk_bot.services.errors import NotRegisteredError
from okdesk_bot.services.notifications import NoticeLedger
from okdesk_bot.services.registration import (
    Applicant,
    CompanyChoice,
    CompanyNotFoundError,
    ContactRejectedError,
    PhoneConfirmationRequiredError,
    RegistrationError,
    RegistrationUnavailableError,
    find_company,
    find_contact,
    register,
    unregister,
)
from okdesk_bot.texts import Texts

PHONE = "+79991234567"
TELEGRAM_ID = 5_000_000_001
ROMASHKA = CompanyChoice(id=1, name="ООО «Ромашка»", inn="7701234560")


@dataclass
class ScriptedOkdesk:
    """Contacts stored under exact phone strings, and a record of every call."""

    contacts_by_phone: dict[str, list[Contact]] = field(default_factory=dict)
    companies_by_inn: dict[str, Company] = field(default_factory=dict)
    failure: OkdeskError | None = None
    create_failure: OkdeskError | None = None
    searched: list[str] = field(default_factory=list)
    created: list[ContactCreate] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    issues_failure: OkdeskError | None = None
    issues_hang: bool = False

    async def find_company_by_inn(self, inn: str, *, parameter_code: str) -> Company | None:
        assert parameter_code == "inn"
        if self.failure:
            raise self.failure
        return self.companies_by_inn.get(inn)

    async def find_contacts_by_phone(self, phone: str) -> list[Contact]:
        self.searched.append(phone)
        if self.failure:
            raise self.failure
        return self.contacts_by_phone.get(phone, [])

    async def create_contact(self, contact: ContactCreate) -> Contact:
        self.created.append(contact)
        if self.create_failure:
            raise self.create_failure
        return Contact(id=100 + len(self.created), **contact.model_dump(exclude_none=True))

    async def iter_issues(self, *, contact_ids: Sequence[int] = ()) -> AsyncIterator[Issue]:
        if self.issues_failure:
            raise self.issues_failure
        if self.issues_hang:
            await asyncio.Event().wait()
        for issue in self.issues:
            if issue.contact_id in contact_ids:
                yield issue


def applicant(
    *,
    phone_verified: bool = True,
    company: CompanyChoice | None = None,
    contact_maybe_created: bool = False,
) -> Applicant:
    """Анна Смирнова, a private person unless a company is given."""
    return Applicant(
        telegram_user_id=TELEGRAM_ID,
        chat_id=TELEGRAM_ID,
        language_code="ru",
        kind=UserKind.LEGAL if company else UserKind.INDIVIDUAL,
        name=PersonName("Смирнова", "Анна", "Викторовна"),
        phone=PHONE,
        phone_verified=phone_verified,
        company=company,
        contact_maybe_created=contact_maybe_created,
    )


async def stored(sessions: async_sessionmaker[AsyncSession]) -> User | None:
    """The user as another session sees it: only what was committed."""
    async with UnitOfWork(sessions) as uow:
        return await uow.users.get_by_telegram_id(TELEGRAM_ID)


# ----------------------------------------------------------------------------- contact search


async def test_phone_forms_are_tried_in_order_until_one_matches() -> None:
    anna = Contact(id=1, phone="89991234567")
    okdesk = ScriptedOkdesk({"89991234567": [anna]})

    assert await find_contact(okdesk, PHONE, company_id=None) == anna

    assert okdesk.searched == ["+79991234567", "79991234567", "89991234567"]
    assert okdesk.searched == phone_search_variants(PHONE)[:3]


async def test_for_a_company_only_its_own_contacts_count() -> None:
    elsewhere = Contact(id=2, phone=PHONE, company_id=2)
    ours = Contact(id=3, phone="8 (999) 123-45-67", company_id=1)
    okdesk = ScriptedOkdesk({PHONE: [elsewhere], "8 (999) 123-45-67": [ours]})

    assert await find_contact(okdesk, PHONE, company_id=1) == ours
    assert await find_contact(okdesk, PHONE, company_id=None) == elsewhere


async def test_no_match_tries_every_form() -> None:
    okdesk = ScriptedOkdesk()

    assert await find_contact(okdesk, PHONE, company_id=None) is None
    assert okdesk.searched == phone_search_variants(PHONE)


# -------------------------------------------------------------------------------- binding


def ticket(issue_id: int, status: str, *, contact_id: int) -> Issue:
    return Issue.model_validate(
        {
            "id": issue_id,
            "title": f"Заявка {issue_id}",
            "status": {"code": status, "name": status},
            "contact": {"id": contact_id},
        }
    )


async def known_status(sessions: async_sessionmaker[AsyncSession], issue_id: int) -> str | None:
    async with UnitOfWork(sessions) as uow:
        return (await NoticeLedger(uow.app_state).get(issue_id)).status_code


async def test_the_tickets_statuses_at_registration_are_what_the_person_knows(
    uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """A status change after registration is then news to reconciliation, even when its
    webhook is lost before reconciliation first looks at the contact."""
    okdesk = ScriptedOkdesk({PHONE: [Contact(id=1, phone=PHONE)]})
    okdesk.issues = [ticket(7, "opened", contact_id=1), ticket(8, "completed", contact_id=2)]
    async with UnitOfWork(session_factory) as earlier:  # a notice about 9 was sent before
        await NoticeLedger(earlier.app_state).remember_status(9, Status(code="in_progress"))
        await earlier.commit()
    okdesk.issues.append(ticket(9, "completed", contact_id=1))

    await register(okdesk, uow, applicant())

    assert await known_status(session_factory, 7) == "opened"
    assert await known_status(session_factory, 8) is None  # another contact's ticket
    assert await known_status(session_factory, 9) == "in_progress"  # kept, so still news


async def test_registration_succeeds_when_the_tickets_cannot_be_read(
    uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    okdesk = ScriptedOkdesk({PHONE: [Contact(id=1, phone=PHONE)]})
    okdesk.issues = [ticket(7, "opened", contact_id=1)]
    okdesk.issues_failure = OkdeskConnectionError("connection refused")

    result = await register(okdesk, uow, applicant())

    assert result.user.is_registered
    user = await stored(session_factory)
    assert user is not None
    assert user.is_registered
    assert await known_status(session_factory, 7) is None


async def test_registration_answers_in_time_when_the_tickets_do_not_come(
    uow: UnitOfWork,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(registration, "TICKET_SNAPSHOT_TIMEOUT", 0.05)
    okdesk = ScriptedOkdesk({PHONE: [Contact(id=1, phone=PHONE)]})
    okdesk.issues_hang = True

    async with asyncio.timeout(5):
        result = await register(okdesk, uow, applicant())

    assert result.user.is_registered
    user = await stored(session_factory)
    assert user is not None
    assert user.is_registered


async def test_a_shared_phone_binds_the_existing_contact_and_commits(
    uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    okdesk = ScriptedOkdesk({PHONE: [Contact(id=1, phone=PHONE, company_id=1)]})

    result = await register(okdesk, uow, applicant())

    assert not result.contact_created
    assert okdesk.created == []
    user = await stored(session_factory)
    assert user is not None
    assert user.is_registered
    assert (user.okdesk_contact_id, user.okdesk_company_id, user.phone) == (1, 1, PHONE)
    assert (user.full_name, user.kind, user.company_name) == (
        "Смирнова Анна Викторовна",
        UserKind.INDIVIDUAL,
        None,
    )


async def test_a_typed_phone_never_binds_an_existing_contact(
    uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    okdesk = ScriptedOkdesk({PHONE: [Contact(id=1, phone=PHONE)]})

    with pytest.raises(PhoneConfirmationRequiredError):
        await register(okdesk, uow, applicant(phone_verified=False))

    assert okdesk.created == []
    assert await stored(session_factory) is None


async def test_a_new_person_gets_a_contact_with_the_name_split(
    uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    okdesk = ScriptedOkdesk()

    result = await register(okdesk, uow, applicant(phone_verified=False))

    assert result.contact_created
    assert okdesk.created == [
        ContactCreate(
            last_name="Смирнова", first_name="Анна", patronymic="Викторовна", phone=PHONE
        )
    ]
    user = await stored(session_factory)
    assert user is not None
    assert user.okdesk_contact_id == 101


async def test_a_legal_entity_binds_only_inside_its_company(
    uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    okdesk = ScriptedOkdesk({PHONE: [Contact(id=2, phone=PHONE, company_id=2)]})

    await register(okdesk, uow, applicant(company=ROMASHKA))

    assert [contact.company_id for contact in okdesk.created] == [1]
    user = await stored(session_factory)
    assert user is not None
    assert (user.kind, user.okdesk_company_id, user.company_name) == (
        UserKind.LEGAL,
        1,
        "ООО «Ромашка»",
    )


async def test_registering_again_replaces_the_binding(
    uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    okdesk = ScriptedOkdesk({PHONE: [Contact(id=1, phone=PHONE, company_id=1)]})
    await register(okdesk, uow, applicant())

    await register(okdesk, uow, applicant(company=ROMASHKA))

    user = await stored(session_factory)
    assert user is not None
    assert (user.kind, user.okdesk_contact_id, user.company_name) == (
        UserKind.LEGAL,
        1,
        "ООО «Ромашка»",
    )


# ---------------------------------------------------------------------- failures of Okdesk


async def test_okdesk_down_while_searching_stores_nothing(
    uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    okdesk = ScriptedOkdesk(failure=OkdeskConnectionError("refused"))

    with pytest.raises(RegistrationUnavailableError) as raised:
        await register(okdesk, uow, applicant())

    assert not raised.value.contact_maybe_created
    assert okdesk.created == []
    assert await stored(session_factory) is None


async def test_a_create_without_an_answer_is_reported_as_maybe_done(
    uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    okdesk = ScriptedOkdesk(create_failure=OkdeskServerError("502", outcome_unknown=True))

    with pytest.raises(RegistrationUnavailableError) as raised:
        await register(okdesk, uow, applicant(phone_verified=False))

    assert raised.value.contact_maybe_created
    assert await stored(session_factory) is None


async def test_the_contact_an_unanswered_create_made_is_bound_next_time(uow: UnitOfWork) -> None:
    ours = Contact(
        id=7, last_name="Смирнова", first_name="Анна", patronymic="Викторовна", phone=PHONE
    )
    okdesk = ScriptedOkdesk({PHONE: [ours]})

    await register(okdesk, uow, applicant(phone_verified=False, contact_maybe_created=True))

    assert okdesk.created == []
    user = await uow.users.get_by_telegram_id(TELEGRAM_ID)
    assert user is not None
    assert user.okdesk_contact_id == 7


async def test_someone_elses_contact_is_not_taken_for_the_unanswered_create(
    uow: UnitOfWork,
) -> None:
    someone = Contact(id=1, last_name="Смирнова", first_name="Анна", phone=PHONE)  # no patronymic
    okdesk = ScriptedOkdesk({PHONE: [someone]})

    with pytest.raises(PhoneConfirmationRequiredError):
        await register(okdesk, uow, applicant(phone_verified=False, contact_maybe_created=True))


async def test_a_contact_okdesk_refuses_is_a_clear_error(uow: UnitOfWork) -> None:
    okdesk = ScriptedOkdesk(
        create_failure=OkdeskValidationError("422", field_errors={"phone": ["invalid"]})
    )

    with pytest.raises(ContactRejectedError):
        await register(okdesk, uow, applicant())


# ------------------------------------------------------------------------ company, unbind


async def test_company_is_found_by_inn() -> None:
    okdesk = ScriptedOkdesk(
        companies_by_inn={"7701234560": Company(id=1, name=None, additional_name="Ромашка")}
    )

    choice = await find_company(okdesk, "7701234560", parameter_code="inn")

    assert choice == CompanyChoice(id=1, name="Ромашка", inn="7701234560")
    with pytest.raises(CompanyNotFoundError):
        await find_company(okdesk, "7707083893", parameter_code="inn")


async def test_company_lookup_with_okdesk_down_is_unavailable() -> None:
    okdesk = ScriptedOkdesk(failure=OkdeskServerError("503"))

    with pytest.raises(RegistrationUnavailableError):
        await find_company(okdesk, "7701234560", parameter_code="inn")


async def test_unregister_forgets_the_binding(
    uow: UnitOfWork, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    okdesk = ScriptedOkdesk({PHONE: [Contact(id=1, phone=PHONE, company_id=1)]})
    registration = await register(okdesk, uow, applicant(company=ROMASHKA))

    await unregister(uow, registration.user)

    user = await stored(session_factory)
    assert user is not None
    assert not user.is_registered
    assert (user.okdesk_contact_id, user.okdesk_company_id, user.phone, user.full_name) == (
        None,
        None,
        None,
        None,
    )
    with pytest.raises(NotRegisteredError):
        await unregister(uow, user)


# --------------------------------------------------------------------------------- texts


def test_every_failure_and_every_rejected_answer_has_a_text_in_every_locale() -> None:
    texts = Texts.load()
    error_keys = {error.text_key for error in _subclasses(RegistrationError)}
    reason_keys = {
        *(INN_ERRORS[reason] for reason in get_args(InnErrorReason)),
        *(NAME_ERRORS[reason] for reason in get_args(NameErrorReason)),
        *(PHONE_ERRORS[reason] for reason in get_args(PhoneErrorReason)),
    }
    for locale in texts.locales:
        assert error_keys | reason_keys <= texts.keys(locale), locale


def _subclasses(cls: type[RegistrationError]) -> list[type[RegistrationError]]:
    return [cls, *(sub for child in cls.__subclasses__() for sub in _subclasses(child))]
