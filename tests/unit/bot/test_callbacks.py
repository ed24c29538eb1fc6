"""Every button's data fits Telegram's 64 bytes, even with the largest values it can carry."""

from __future__ import annotations

import inspect
from enum import Enum
from typing import Any, get_args

import pytest
from aiogram.filters.callback_data import CallbackData
from annotated_types import MaxLen

from okdesk_bot.bot import callbacks

INT64_MAX = 2**63 - 1


def all_callback_classes() -> list[type[CallbackData]]:
    return [
        cls
        for _, cls in inspect.getmembers(callbacks, inspect.isclass)
        if issubclass(cls, CallbackData) and cls is not CallbackData
    ]


def widest_value(annotation: Any, metadata: list[Any]) -> Any:
    """The value of a field's type that packs longest."""
    if annotation is str:
        limits = [item.max_length for item in metadata if isinstance(item, MaxLen)]
        if not limits:
            pytest.fail("a str in callback data needs Field(max_length=...): it is unbounded")
        return "x" * min(limits)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return max(annotation, key=lambda member: len(str(member.value)))
    if annotation is bool:
        return True
    if annotation is int:
        return -INT64_MAX
    options = [arg for arg in get_args(annotation) if arg is not type(None)]
    if options:
        return widest_value(options[0], metadata)
    pytest.fail(f"use an enum, int, bool or bounded str in callback data, not {annotation!r}")


def test_there_are_callbacks_to_check() -> None:
    assert len(all_callback_classes()) >= 5


@pytest.mark.parametrize("cls", all_callback_classes(), ids=lambda cls: cls.__name__)
def test_packed_data_fits_64_bytes(cls: type[CallbackData]) -> None:
    values = {
        name: widest_value(field.annotation, field.metadata)
        for name, field in cls.model_fields.items()
    }
    packed = cls(**values).pack()
    assert len(packed.encode()) <= 64, packed
    assert cls.unpack(packed) == cls(**values)


def test_prefixes_are_unique() -> None:
    prefixes = [cls.__prefix__ for cls in all_callback_classes()]
    assert len(prefixes) == len(set(prefixes))
