"""Registration after /start, the profile (/profile) and unbinding (/logout).

The dialog keeps what the person answered in the FSM data (stored in the database or Redis), so
a failure or a restart of the bot leaves them at the same question. Commands and taps on the
main menu are never taken as answers: they go on to the routers that serve them.
"""

from __future__ import annotations

from typing import Any, Final

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.filters.logic import and_f
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.types import User as TelegramUser

from okdesk_bot.bot.callbacks import (
    ConfirmStep,
    ProfileAction,
    ProfileCallback,
    RegistrationConfirm,
    RegistrationKind,
    RegistrationRetry,
    UserKindChoice,
)
from okdesk_bot.bot.filters import ANY_MENU_BUTTON, COMMAND_TEXT
from okdesk_bot.bot.keyboards import main_menu
from okdesk_bot.bot.states import RegistrationStates
from okdesk_bot.config import Settings
from okdesk_bot.db.models import User, UserKind
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.domain.errors import (
    InnErrorReason,
    InvalidInnError,
    InvalidNameError,
    InvalidPhoneError,
    NameErrorReason,
    PhoneErrorReason,
)
from okdesk_bot.domain.identity import (
    PersonName,
    normalize_phone,
    parse_full_name,
    validate_inn,
)
from okdesk_bot.okdesk import OkdeskClient
from okdesk_bot.services import registration
from okdesk_bot.services.errors import NotRegisteredError
from okdesk_bot.services.registration import (
    Applicant,
    CompanyChoice,
    CompanyNotFoundError,
    PhoneConfirmationRequiredError,
    RegistrationError,
    RegistrationUnavailableError,
)
from okdesk_bot.texts import Translator

INN_ERRORS: Final[dict[InnErrorReason, str]] = {
    "length": "reg-inn-error-length",
    "not_digits": "reg-inn-error-not-digits",
    "checksum": "reg-inn-error-checksum",
}
NAME_ERRORS: Final[dict[NameErrorReason, str]] = {
    "one_word": "reg-name-error-one-word",
    "too_short": "reg-name-error-too-short",
    "too_long": "reg-name-error-too-long",
    "bad_characters": "reg-name-error-bad-characters",
}
PHONE_ERRORS: Final[dict[PhoneErrorReason, str]] = {
    "not_a_number": "reg-phone-error-not-a-number",
    "too_short": "reg-phone-error-too-short",
    "too_long": "reg-phone-error-too-long",
    "invalid": "reg-phone-error-invalid",
}

# An answer to a question: text that is neither a command nor a tap on the main menu.
ANSWER: Final = and_f(F.text, ~COMMAND_TEXT, ~ANY_MENU_BUTTON)

# --------------------------------------------------------------------------------- keyboards


def _inline(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data) for text, data in row]
            for row in rows
        ]
    )


def kind_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return _inline(
        [(t("reg-kind-individual"), RegistrationKind(kind=UserKindChoice.INDIVIDUAL).pack())],
        [(t("reg-kind-legal"), RegistrationKind(kind=UserKindChoice.LEGAL).pack())],
    )


def way_out_keyboard(t: Translator) -> InlineKeyboardMarkup:
    """For a legal entity whose INN led nowhere: register as an individual instead."""
    return _inline(
        [(t("reg-as-individual"), RegistrationKind(kind=UserKindChoice.INDIVIDUAL).pack())]
    )


def _yes_no(step: ConfirmStep, yes: str, no: str) -> InlineKeyboardMarkup:
    return _inline(
        [
            (yes, RegistrationConfirm(step=step, ok=True).pack()),
            (no, RegistrationConfirm(step=step, ok=False).pack()),
        ]
    )


def company_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return _yes_no(ConfirmStep.COMPANY, t("reg-company-yes"), t("reg-company-no"))


def phone_keyboard(t: Translator) -> ReplyKeyboardMarkup:
    """Share one's own number with a tap, or type it."""
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=t("reg-share-phone"), request_contact=True)]],
        resize_keyboard=True,
        input_field_placeholder=t("reg-phone-placeholder"),
    )


def retry_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return _inline([(t("reg-retry"), RegistrationRetry().pack())])


def profile_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return _inline(
        [
            (t("reg-profile-edit"), ProfileCallback(action=ProfileAction.EDIT).pack()),
            (t("reg-profile-logout"), ProfileCallback(action=ProfileAction.LOGOUT).pack()),
        ]
    )


def logout_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return _yes_no(ConfirmStep.LOGOUT, t("reg-logout-yes"), t("reg-logout-no"))


def profile_card(t: Translator, user: User) -> str:
    """The stored registration data, one fact a line."""
    kind = user.kind or UserKind.INDIVIDUAL
    lines = [t("reg-card-kind", kind=kind.value)]
    if user.full_name:
        lines.append(t("reg-card-name", name=user.full_name))
    if user.phone:
        lines.append(t("reg-card-phone", phone=user.phone))
    if user.company_name:
        lines.append(t("reg-card-company", company=user.company_name))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- dialog data
# What the dialog collected so far, in the FSM data (JSON: plain strings, numbers, flags).


def _name_data(name: PersonName) -> dict[str, Any]:
    return {
        "last_name": name.last_name,
        "first_name": name.first_name,
        "patronymic": name.patronymic,
    }


def _company_data(company: CompanyChoice) -> dict[str, Any]:
    return {"company_id": company.id, "company_name": company.name, "inn": company.inn}


def _applicant(
    data: dict[str, Any], sender: TelegramUser, *, phone: str, verified: bool
) -> Applicant:
    company = None
    if data.get("company_id") is not None:
        company = CompanyChoice(
            id=int(data["company_id"]), name=str(data["company_name"]), inn=str(data["inn"])
        )
    return Applicant(
        telegram_user_id=sender.id,
        chat_id=sender.id,
        language_code=sender.language_code,
        kind=UserKind.LEGAL if company else UserKind.INDIVIDUAL,
        name=PersonName(
            last_name=data["last_name"],
            first_name=data["first_name"],
            patronymic=data.get("patronymic"),
        ),
        phone=phone,
        phone_verified=verified,
        company=company,
        contact_maybe_created=data.get("maybe_created_phone") == phone,
    )


# ------------------------------------------------------------------------------- handlers


async def start(message: Message, state: FSMContext, t: Translator, user: User | None) -> None:
    """Welcome back a registered user; anyone else starts (or restarts) registration."""
    await state.clear()
    sender_name = message.from_user.first_name if message.from_user else ""
    if user is not None and user.is_registered:
        name = user.first_name or sender_name
        await message.answer(t("reg-welcome-back", name=name), reply_markup=main_menu(t))
        return
    await state.set_state(RegistrationStates.choosing_kind)
    await message.answer(
        f"{t('start-greeting', name=sender_name)}\n\n{t('reg-choose-kind')}",
        reply_markup=kind_keyboard(t),
    )


async def choose_kind(
    callback: CallbackQuery,
    callback_data: RegistrationKind,
    state: FSMContext,
    bot: Bot,
    t: Translator,
) -> None:
    await callback.answer()
    await state.set_data({})
    chat_id = callback.from_user.id
    if callback_data.kind is UserKindChoice.LEGAL:
        await state.set_state(RegistrationStates.entering_inn)
        await bot.send_message(chat_id, t("reg-inn-prompt"), reply_markup=ReplyKeyboardRemove())
        return
    await state.set_state(RegistrationStates.entering_name)
    await bot.send_message(chat_id, t("reg-name-prompt"), reply_markup=ReplyKeyboardRemove())


async def receive_inn(
    message: Message, state: FSMContext, t: Translator, okdesk: OkdeskClient, settings: Settings
) -> None:
    try:
        inn = validate_inn(message.text or "")
    except InvalidInnError as error:
        await message.answer(t(INN_ERRORS[error.reason]))
        return
    try:
        company = await registration.find_company(
            okdesk, inn, parameter_code=settings.okdesk_inn_parameter_code
        )
    except CompanyNotFoundError:
        await message.answer(t("reg-inn-unknown", inn=inn), reply_markup=way_out_keyboard(t))
        return
    except RegistrationError as error:
        await message.answer(t(error.text_key))
        return
    await state.update_data(_company_data(company))
    await state.set_state(RegistrationStates.confirming_company)
    await message.answer(
        t("reg-company-confirm", company=company.name, inn=company.inn),
        reply_markup=company_keyboard(t),
    )


async def confirm_company(
    callback: CallbackQuery,
    callback_data: RegistrationConfirm,
    state: FSMContext,
    bot: Bot,
    t: Translator,
) -> None:
    await callback.answer()
    chat_id = callback.from_user.id
    if callback_data.ok:
        await state.set_state(RegistrationStates.entering_name)
        await bot.send_message(chat_id, t("reg-name-prompt"))
        return
    await state.update_data(company_id=None, company_name=None, inn=None)
    await state.set_state(RegistrationStates.entering_inn)
    await bot.send_message(chat_id, t("reg-company-rejected"), reply_markup=way_out_keyboard(t))


async def receive_name(message: Message, state: FSMContext, t: Translator) -> None:
    try:
        name = parse_full_name(message.text or "")
    except InvalidNameError as error:
        await message.answer(t(NAME_ERRORS[error.reason]))
        return
    await state.update_data(_name_data(name))
    await state.set_state(RegistrationStates.entering_phone)
    await message.answer(
        t("reg-phone-prompt", name=name.first_name), reply_markup=phone_keyboard(t)
    )


async def receive_contact(
    message: Message, state: FSMContext, t: Translator, okdesk: OkdeskClient, uow: UnitOfWork
) -> None:
    """A shared contact card counts only if it is the sender's own (not a forwarded one)."""
    contact = message.contact
    sender = message.from_user
    if contact is None or sender is None or contact.user_id != sender.id:
        await message.answer(t("reg-phone-not-yours"), reply_markup=phone_keyboard(t))
        return
    try:
        phone = normalize_phone(contact.phone_number)
    except InvalidPhoneError as error:
        await message.answer(t(PHONE_ERRORS[error.reason]), reply_markup=phone_keyboard(t))
        return
    await _register(
        message, sender, state=state, t=t, okdesk=okdesk, uow=uow, phone=phone, verified=True
    )


async def receive_typed_phone(
    message: Message, state: FSMContext, t: Translator, okdesk: OkdeskClient, uow: UnitOfWork
) -> None:
    if message.from_user is None:
        return
    try:
        phone = normalize_phone(message.text or "")
    except InvalidPhoneError as error:
        await message.answer(t(PHONE_ERRORS[error.reason]), reply_markup=phone_keyboard(t))
        return
    await _register(
        message,
        message.from_user,
        state=state,
        t=t,
        okdesk=okdesk,
        uow=uow,
        phone=phone,
        verified=False,
    )


async def remind(
    message: Message, state: FSMContext, raw_state: str | None, t: Translator
) -> None:
    """Something other than an answer to the current question: ask the question again."""
    states = RegistrationStates
    if raw_state == states.choosing_kind.state:
        await message.answer(t("reg-choose-kind-hint"), reply_markup=kind_keyboard(t))
    elif raw_state == states.confirming_company.state:
        data = await state.get_data()
        await message.answer(
            t("reg-company-confirm", company=data.get("company_name"), inn=data.get("inn")),
            reply_markup=company_keyboard(t),
        )
    elif raw_state == states.entering_inn.state:
        await message.answer(t("reg-inn-prompt"))
    elif raw_state == states.entering_name.state:
        await message.answer(t("reg-name-prompt"))
    else:
        await message.answer(t("reg-phone-ask"), reply_markup=phone_keyboard(t))


async def retry_registration(
    callback: CallbackQuery,
    state: FSMContext,
    t: Translator,
    okdesk: OkdeskClient,
    uow: UnitOfWork,
) -> None:
    """Send again the answers that Okdesk could not take a moment ago."""
    data = await state.get_data()
    phone = data.get("phone")
    if not isinstance(callback.message, Message) or not isinstance(phone, str):
        await callback.answer(t("reg-button-stale"), show_alert=True)
        return
    await callback.answer()
    await _register(
        callback.message,
        callback.from_user,
        state=state,
        t=t,
        okdesk=okdesk,
        uow=uow,
        phone=phone,
        verified=bool(data.get("phone_verified")),
    )


async def _register(
    message: Message,
    sender: TelegramUser,
    *,
    state: FSMContext,
    t: Translator,
    okdesk: OkdeskClient,
    uow: UnitOfWork,
    phone: str,
    verified: bool,
) -> None:
    """Bind the person to Okdesk with everything collected, then say so; or say what failed."""
    data = await state.get_data()
    applicant = _applicant(data, sender, phone=phone, verified=verified)
    try:
        result = await registration.register(okdesk, uow, applicant)
    except PhoneConfirmationRequiredError as error:
        await message.answer(t(error.text_key), reply_markup=phone_keyboard(t))
        return
    except RegistrationUnavailableError as error:
        await state.update_data(
            phone=phone,
            phone_verified=verified,
            maybe_created_phone=phone if error.contact_maybe_created else None,
        )
        await message.answer(t(error.text_key), reply_markup=retry_keyboard(t))
        return
    except RegistrationError as error:
        await message.answer(t(error.text_key), reply_markup=phone_keyboard(t))
        return
    await state.clear()
    await message.answer(
        f"{t('reg-done')}\n\n{profile_card(t, result.user)}\n\n{t('reg-done-next')}",
        reply_markup=main_menu(t),
    )


async def show_profile(message: Message, t: Translator, user: User | None) -> None:
    if user is None or not user.is_registered:
        await message.answer(t(NotRegisteredError.text_key))
        return
    await message.answer(
        f"{t('reg-profile-title')}\n{profile_card(t, user)}", reply_markup=profile_keyboard(t)
    )


async def ask_logout(message: Message, t: Translator, user: User | None) -> None:
    if user is None or not user.is_registered:
        await message.answer(t(NotRegisteredError.text_key))
        return
    await message.answer(t("reg-logout-confirm"), reply_markup=logout_keyboard(t))


async def edit_profile(
    callback: CallbackQuery, state: FSMContext, bot: Bot, t: Translator
) -> None:
    """Register again; the current binding is replaced only once the new one is stored."""
    await callback.answer()
    await state.clear()
    await state.set_state(RegistrationStates.choosing_kind)
    await bot.send_message(
        callback.from_user.id,
        f"{t('reg-change-intro')}\n\n{t('reg-choose-kind')}",
        reply_markup=kind_keyboard(t),
    )


async def ask_logout_by_button(callback: CallbackQuery, t: Translator, bot: Bot) -> None:
    await callback.answer()
    await bot.send_message(
        callback.from_user.id, t("reg-logout-confirm"), reply_markup=logout_keyboard(t)
    )


async def logout(
    callback: CallbackQuery,
    *,
    state: FSMContext,
    bot: Bot,
    t: Translator,
    uow: UnitOfWork,
    user: User | None,
) -> None:
    """Forget the binding here (Okdesk keeps the contact and its tickets)."""
    try:
        await registration.unregister(uow, user)
    except NotRegisteredError:
        await callback.answer(t("reg-button-stale"), show_alert=True)
        return
    await callback.answer()
    await state.clear()
    await bot.send_message(
        callback.from_user.id, t("reg-logout-done"), reply_markup=ReplyKeyboardRemove()
    )


async def keep_binding(callback: CallbackQuery, t: Translator) -> None:
    await callback.answer(t("reg-logout-kept"))


async def stale_button(callback: CallbackQuery, t: Translator) -> None:
    """A registration button pressed outside the step it belongs to (an old message)."""
    await callback.answer(t("reg-button-stale"), show_alert=True)


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    states = RegistrationStates
    on_message = router.message.register
    on_button = router.callback_query.register

    on_message(start, CommandStart())
    on_message(show_profile, Command("profile"))
    on_message(ask_logout, Command("logout"))

    on_message(receive_inn, states.entering_inn, ANSWER)
    on_message(receive_name, states.entering_name, ANSWER)
    on_message(receive_contact, states.entering_phone, F.contact)
    on_message(receive_typed_phone, states.entering_phone, ANSWER)
    on_message(remind, StateFilter(states.choosing_kind, states.confirming_company), ANSWER)
    on_message(remind, StateFilter(states), ~F.text)

    on_button(choose_kind, RegistrationKind.filter(), StateFilter(states))
    on_button(
        confirm_company,
        RegistrationConfirm.filter(F.step == ConfirmStep.COMPANY),
        states.confirming_company,
    )
    on_button(retry_registration, RegistrationRetry.filter(), states.entering_phone)
    on_button(logout, RegistrationConfirm.filter((F.step == ConfirmStep.LOGOUT) & F.ok))
    on_button(keep_binding, RegistrationConfirm.filter(F.step == ConfirmStep.LOGOUT))
    on_button(edit_profile, ProfileCallback.filter(F.action == ProfileAction.EDIT))
    on_button(ask_logout_by_button, ProfileCallback.filter(F.action == ProfileAction.LOGOUT))
    # Registration buttons pressed outside their step: an old message, or a replay.
    on_button(stale_button, RegistrationKind.filter())
    on_button(stale_button, RegistrationConfirm.filter())
    on_button(stale_button, RegistrationRetry.filter())
    return router
