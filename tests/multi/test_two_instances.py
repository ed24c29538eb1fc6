"""Two instances, one service: every notice once, one global send rate, order kept per chat,
and the survivor finishes the work of an instance that dies.

Okdesk staff act on the clients' tickets in the emulator; each action's webhook goes to one of
the two instances in turn (as a load balancer would send it), so both instances record, confirm
and send. The clients also talk to the bot meanwhile.
"""

from __future__ import annotations

import asyncio
import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from itertools import pairwise

import pytest
from sqlalchemy import func, select

from okdesk_bot.db.engine import create_engine, create_session_factory
from okdesk_bot.db.models import OutboxMessage, OutboxStatus
from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.emulators.telegram import ChatMessage, TelegramEmulator
from tests.multi.conftest import (
    NOTIFY_RATE,
    TELEGRAM_CHAT_RATE,
    TELEGRAM_GLOBAL_RATE,
    Accepted,
    Client,
    ClientsFactory,
    Cluster,
    Instance,
    SendLog,
)

pytestmark = pytest.mark.slow

ROUNDS = 10
"""Events per ticket: comments, then a status change (the ticket's last event, so Okdesk
still confirms it whenever it is processed)."""
FINAL_STATUS = "in_progress"
STATUS_MARK = "status"
WEBHOOK_RATE = 100
"""Okdesk actions (so webhooks) per second."""
_COMMENT = re.compile(r"Ответ (\d+)-(\d+)")

RATE_SLACK = 2
"""Messages the whole delivery may hold beyond `NOTIFY_RATE` × its duration: the limiter lets
a turn come up to 10 ms early (timers fire late; the GCRA tolerance), and the first and last
stamps may each be late by a loop stall. The busiest 1 s and 5 s windows are printed for the
record, not asserted (see the comment at the assertion)."""
CHAT_SPACING_SLACK = 0.05
"""How much closer than 1 s two messages to one chat may arrive at the emulator: the turns are
1 s apart, the requests' travel times differ by a few milliseconds (50 ms is generous)."""


def mark(text: str | None) -> str | None:
    """Which notice a message is: ``c<round>`` for a comment, ``status``; None for a reply."""
    if text is None:
        return None
    if (comment := _COMMENT.search(text)) is not None:
        return f"c{comment[2]}"
    return STATUS_MARK if "Статус:" in text else None


def expected_marks() -> list[str]:
    return [*(f"c{n}" for n in range(ROUNDS - 1)), STATUS_MARK]


async def act_in_okdesk(
    okdesk: OkdeskEmulator, clients: Sequence[Client], instances: Sequence[Instance]
) -> int:
    """Every ticket gets its comments and a status change, round by round; each webhook goes
    to the next instance. Returns how many webhooks were sent."""
    sent = 0
    for round_ in range(ROUNDS):
        for client in clients:
            okdesk.set_webhook_urls([instances[sent % len(instances)].webhook_url])
            if round_ < ROUNDS - 1:
                await okdesk.add_comment(client.issue_id, f"Ответ {client.issue_id}-{round_}")
            else:
                await okdesk.change_status(client.issue_id, FINAL_STATUS)
            sent += 1
            await asyncio.sleep(1 / WEBHOOK_RATE)  # a stream, not one burst
    return sent


async def start_chats(clients: Sequence[Client], telegram: TelegramEmulator) -> None:
    """Each client has written to the bot (it may not write first) and got its answer; the
    flood limits are turned on afterwards, so the test's own warm-up does not count."""
    for client in clients:
        person = telegram.user(client.chat_id)
        await person.send_command("/start")
        await person.wait_for_bot_message(timeout=15)
    telegram.flood.configure(per_chat_rate=TELEGRAM_CHAT_RATE, global_rate=TELEGRAM_GLOBAL_RATE)


async def all_webhooks_accepted(okdesk: OkdeskEmulator, count: int) -> None:
    deliveries = await okdesk.wait_for_webhooks(count, timeout=30)
    refused = [delivery for delivery in deliveries if not delivery.delivered]
    assert not refused, f"{len(refused)} webhooks were not accepted, e.g. {refused[0]}"


def notices(send_log: SendLog) -> list[Accepted]:
    return [sent for sent in send_log.accepted() if mark(sent.message.text) is not None]


async def wait_until_sent(database_url: str, count: int, timeout: float) -> None:
    """Wait until `count` notices are recorded as sent (asking the database, which costs the
    event loop that times the emulator's messages nothing), and a little longer."""
    engine = create_engine(database_url)
    sent = select(func.count()).where(OutboxMessage.status == OutboxStatus.SENT)
    try:
        async with asyncio.timeout(timeout):
            while True:
                async with create_session_factory(engine)() as session:
                    if await session.scalar(sent) == count:
                        break
                await asyncio.sleep(0.5)
    finally:
        await engine.dispose()
    await asyncio.sleep(1.5)  # anything sent twice would arrive now


async def queued_notices(database_url: str) -> dict[int, list[OutboxMessage]]:
    """The outbox per chat in queue order: what the instances committed to send, in order."""
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            by_chat: dict[int, list[OutboxMessage]] = defaultdict(list)
            for row in rows:
                by_chat[row.chat_id].append(row)
            return by_chat
    finally:
        await engine.dispose()


def marks_by_chat(sent: Sequence[Accepted]) -> dict[int, list[str]]:
    by_chat: dict[int, list[str]] = defaultdict(list)
    for accepted in sent:
        if (notice := mark(accepted.message.text)) is not None:
            by_chat[accepted.message.chat_id].append(notice)
    return by_chat


def busiest(times: Sequence[float], window: float = 1.0) -> int:
    """The most messages in any window [t, t + window) (windows start at each message)."""
    ordered = sorted(times)
    return max(bisect_left(ordered, start + window) - i for i, start in enumerate(ordered))


async def assert_queued_once_in_event_order(database_url: str, clients: Sequence[Client]) -> None:
    """Each event made exactly one notice, all sent, queued per chat in the events' order."""
    queued = await queued_notices(database_url)
    assert sorted(queued) == sorted(client.chat_id for client in clients)
    for chat_id, rows in queued.items():
        assert sorted(mark(row.payload["text"]) or "" for row in rows) == sorted(
            expected_marks()
        ), f"chat {chat_id}"
        assert {row.status for row in rows} == {OutboxStatus.SENT}
        events = [row.inbox_event_id or 0 for row in rows]
        assert events == sorted(events), f"chat {chat_id}: queued out of event order"


async def user_traffic(clients: Sequence[Client], telegram: TelegramEmulator) -> None:
    """Clients open the bot's menu now and then while notices flow (about 5 a second: the
    answers use the room Telegram leaves above `NOTIFY_RATE`)."""
    for _ in range(3):
        for client in clients:
            await telegram.user(client.chat_id).send_command("/start")
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)


def replies(messages: Sequence[ChatMessage], chat_id: int) -> list[ChatMessage]:
    return [m for m in messages if m.chat_id == chat_id and mark(m.text) is None]


async def test_two_instances_deliver_every_notice_once_in_order_at_one_global_rate(
    cluster: Cluster,
    clients_factory: ClientsFactory,
    okdesk: OkdeskEmulator,
    telegram: TelegramEmulator,
    send_log: SendLog,
    database_url: str,
) -> None:
    clients = await clients_factory.create(100)
    instances = await cluster.start(2)
    await start_chats(clients, telegram)

    talking = asyncio.create_task(user_traffic(clients[:10], telegram))
    webhooks = await act_in_okdesk(okdesk, clients, instances)
    await all_webhooks_accepted(okdesk, webhooks)
    await talking
    await wait_until_sent(database_url, webhooks, timeout=70)

    sent = notices(send_log)
    assert webhooks == 1000
    assert len(sent) == webhooks  # none lost, none doubled
    for client in clients:  # every chat got its notices once each, in the order queued
        queued = (await queued_notices(database_url))[client.chat_id]
        queued_marks = [mark(row.payload["text"]) for row in queued]
        assert marks_by_chat(sent)[client.chat_id] == queued_marks, f"chat {client.chat_id}"
    await assert_queued_once_in_event_order(database_url, clients)

    # Telegram's own judgement: its flood control (the emulator's, at the real limits) never
    # refused a message. Then the rate itself, over the whole delivery: the emulator runs in
    # this test's event loop and stamps a message when the loop gets to it, so after a stall
    # of the loop (seen: 0.5 s) a backlog is stamped at once and short windows would measure
    # the stall, not the senders.
    assert telegram.stats.too_many_requests == 0
    times = sorted(accepted.at for accepted in sent)
    assert len(times) - 1 <= NOTIFY_RATE * (times[-1] - times[0]) + RATE_SLACK
    for client in clients:
        arrivals = [accepted.at for accepted in sent if accepted.message.chat_id == client.chat_id]
        assert min(later - earlier for earlier, later in pairwise(arrivals)) >= (
            1.0 - CHAT_SPACING_SLACK
        )
    all_sent = telegram.sent_messages()
    assert all(replies(all_sent, client.chat_id) for client in clients[:10])

    leaders = [i.name for i in instances if "leads notification-reconciliation" in i.read_log()]
    assert len(leaders) == 1, leaders
    rate = (len(times) - 1) / (max(times) - min(times))
    print(
        f"\n{len(sent)} notices from 2 instances in {max(times) - min(times):.1f} s: "
        f"{rate:.2f}/s on average, busiest 1 s / 5 s windows "
        f"{busiest(times)} / {busiest(times, 5.0)}, "
        f"429 answers {telegram.stats.too_many_requests}"
    )


async def test_when_one_instance_dies_the_other_finishes_its_work(
    cluster: Cluster,
    clients_factory: ClientsFactory,
    okdesk: OkdeskEmulator,
    send_log: SendLog,
    telegram: TelegramEmulator,
    database_url: str,
) -> None:
    clients = await clients_factory.create(20)
    victim, survivor = await cluster.start(2)
    await start_chats(clients, telegram)
    webhooks = await act_in_okdesk(okdesk, clients, [victim, survivor])
    await all_webhooks_accepted(okdesk, webhooks)
    await asyncio.wait_for(send_log.wait_for(webhooks // 5), 20)

    victim.kill()
    await victim.process.wait()
    sent_before_kill = len(notices(send_log))
    await wait_until_sent(database_url, webhooks, timeout=40)

    assert sent_before_kill < webhooks / 2  # the victim died with work in hand
    sent = marks_by_chat(notices(send_log))
    for client in clients:  # none lost; order kept (a message in flight may come twice)
        first_seen = list(dict.fromkeys(sent[client.chat_id]))
        queued = (await queued_notices(database_url))[client.chat_id]
        assert first_seen == [mark(row.payload["text"]) for row in queued]
    await assert_queued_once_in_event_order(database_url, clients)
    doubled = len(notices(send_log)) - webhooks
    assert doubled <= 1, "only a send in flight at the moment of the kill may be repeated"
    assert telegram.stats.too_many_requests == 0
    assert survivor.process.returncode is None
