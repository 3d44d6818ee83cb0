"""PreparedQuery: a fixed ORM query compiled once, run with new values, rows as the ORM makes them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bots.models import Bot, Conversation, Message, MessageState
from switchboard.queries import PreparedQuery


@pytest.fixture
def message_lookup():
    return PreparedQuery(
        lambda message_id: (
            Message.objects.select_related("conversation__bot", "reply_to").filter(pk=message_id).order_by()[:1]
        ),
        parameters=["message_id"],
    )


@pytest.fixture
def conversation(workspace, make_bot):
    bot = make_bot()
    return Conversation.objects.create(workspace=workspace, bot=bot, end_user="someone", version_number=1)


def _message(conversation, **fields) -> Message:
    return Message.objects.create(workspace=conversation.workspace, conversation=conversation, **fields)


@pytest.mark.django_db
def test_rows_come_back_as_the_orm_builds_them(message_lookup, conversation, django_assert_num_queries):
    question = _message(conversation, role="user", content="问题 question")
    answer = _message(
        conversation,
        role="assistant",
        reply_to=question,
        state=MessageState.COMPLETED,
        citations=[{"document_name": "手册.pdf", "page": 2}],
        cost=Decimal("0.00012345"),
    )

    with django_assert_num_queries(1):
        found = message_lookup.one_or_none(message_id=answer.pk)
        # select_related objects are filled in: reading them costs no query.
        assert found.conversation.bot.pk == conversation.bot_id
        assert found.reply_to.content == "问题 question"
    expected = Message.objects.get(pk=answer.pk)
    assert found == expected
    assert found.citations == [{"document_name": "手册.pdf", "page": 2}]  # JSON decoded
    assert found.cost == Decimal("0.00012345") and found.created_at == expected.created_at
    assert found._state.adding is False and found._state.db == "default"


@pytest.mark.django_db
def test_each_run_takes_its_own_values_and_the_sql_is_compiled_once(message_lookup, conversation):
    one, two = _message(conversation, role="user", content="1"), _message(conversation, role="user", content="2")

    assert message_lookup.one_or_none(message_id=one.pk).content == "1"
    assert message_lookup.one_or_none(message_id=two.pk).content == "2"
    assert message_lookup.one_or_none(message_id="msg_missing") is None
    assert len(message_lookup._compiled) == 1


@pytest.mark.django_db
def test_several_parameters_and_several_rows(workspace, make_bot, other_workspace_bot):
    first, second = make_bot(name="Alpha"), make_bot(name="Beta")
    by_workspace = PreparedQuery(
        lambda workspace_id, skipped: (
            Bot.objects.filter(workspace_id=workspace_id).exclude(pk=skipped).order_by("slug")
        ),
        parameters=["workspace_id", "skipped"],
    )

    assert [b.pk for b in by_workspace.all(workspace_id=workspace.pk, skipped="")] == [first.pk, second.pk]
    assert [b.pk for b in by_workspace.all(workspace_id=workspace.pk, skipped=first.pk)] == [second.pk]
    assert by_workspace.all(workspace_id=other_workspace_bot.workspace_id, skipped="") == [other_workspace_bot]


@pytest.mark.django_db
def test_a_parameter_the_orm_rewrites_is_refused_at_first_use():
    pattern = PreparedQuery(lambda name: Bot.objects.filter(name__icontains=name), parameters=["name"])
    twice = PreparedQuery(
        lambda name: Bot.objects.filter(name=name) | Bot.objects.filter(slug=name), parameters=["name"]
    )

    with pytest.raises(ValueError, match="'name' must appear exactly once, unchanged"):
        pattern.all(name="x")
    with pytest.raises(ValueError, match="exactly once"):
        twice.all(name="x")


@pytest.fixture
def other_workspace_bot(db):
    from bots.services import bot_create
    from tests.factories import WorkspaceFactory

    return bot_create(workspace=WorkspaceFactory(), name="Theirs", config={})
