"""A worker killed mid-turn: the turn still completes, exactly once."""

from __future__ import annotations

import signal
import time

import psutil
import pytest

from bots import events
from bots.models import Message
from bots.turns import turn_accept
from tests.conftest import WorkerProcess
from tests.fake_llm import TextReply

pytestmark = pytest.mark.django_db(transaction=True)

CHUNKS = [f"w{i} " for i in range(40)]


def generating_process(fake_llm) -> psutil.Process | None:
    """The process whose connection carries the streaming request: the one generating the turn."""
    requests = [r for r in fake_llm.requests if r.path.endswith("/chat/completions")]
    if not requests:
        return None
    client_port = requests[-1].client[1]
    for proc in psutil.process_iter():
        try:
            for conn in proc.net_connections(kind="tcp"):
                if conn.laddr and conn.laddr.port == client_port and conn.raddr and conn.raddr.port == fake_llm.port:
                    return proc
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return None


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def start_slow_turn(make_bot, fake_llm):
    bot = make_bot()
    # The first attempt streams slowly so it can be killed; the redelivery answers at full speed.
    fake_llm.script(TextReply(chunks=CHUNKS, chunk_delay=0.1), TextReply(chunks=CHUNKS))
    accepted = turn_accept(workspace=bot.workspace, bot=bot, text="count")
    message_id = accepted.assistant_message.pk
    wait_until(lambda: sum(1 for _, e, _ in events.read_all(message_id) if e == "delta") >= 3, 20, "first deltas")
    return message_id


def assert_completed_once(message_id: str):
    stream = wait_until(
        lambda: (lambda s: s if any(e == "message.end" for _, e, _ in s) else None)(events.read_all(message_id)),
        60,
        "message.end",
    )
    names = [event for _, event, _ in stream]
    assert names.count("message.end") == 1
    assert "message.reset" in names, "clients must be told to drop the dead attempt's partial text"
    after_reset = names[len(names) - 1 - names[::-1].index("message.reset") :]
    text = "".join(d["text"] for (_, e, d) in stream[len(names) - len(after_reset) :] if e == "delta")
    assert text == "".join(CHUNKS)
    message = Message.objects.get(pk=message_id)
    assert message.state == "completed" and message.content == "".join(CHUNKS)
    assert Message.objects.filter(conversation=message.conversation, role="assistant").count() == 1


def test_turn_survives_its_worker_process_being_killed(make_bot, fake_llm, celery_worker):
    # A chat worker on processes (SWITCHBOARD_WORKER_POOL=prefork) loses the pool process that
    # generates: the task goes back to the queue at once and another process finishes the turn.
    celery_worker.chat.stop()  # so the prefork worker below is the only one on the chat queue
    prefork = WorkerProcess(pool="prefork", concurrency=2).start()
    try:
        message_id = start_slow_turn(make_bot, fake_llm)
        child = wait_until(lambda: generating_process(fake_llm), 10, "the generating process")
        assert child.pid != prefork.pid  # a pool process, not the worker's main process
        child.send_signal(signal.SIGKILL)
        assert_completed_once(message_id)
    finally:
        prefork.stop()
        celery_worker.ensure_running()


def test_turn_survives_the_whole_worker_being_killed(make_bot, fake_llm, celery_worker):
    # The chat worker runs turns in green threads of one process: killing it kills the worker.
    spare = WorkerProcess().start()  # a second worker on the same queues takes the turn over
    try:
        message_id = start_slow_turn(make_bot, fake_llm)
        generating = wait_until(lambda: generating_process(fake_llm), 10, "the generating process")
        victim = celery_worker.chat if generating.pid == celery_worker.chat.pid else spare
        assert generating.pid == victim.pid  # the worker process itself generates
        victim.kill()  # no goodbye
        assert_completed_once(message_id)
    finally:
        spare.stop()
        celery_worker.ensure_running()
