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


@pytest.mark.django_db
def test_rows_of_several_models_go_in_one_statement_and_all_or_nothing(workspace, make_bot, django_assert_num_queries):
    from switchboard.queries import insert_in_one_statement

    bot = make_bot()
    conversation = Conversation(workspace=workspace, bot=bot, end_user="u", inputs={"城市": "上海"}, title="t")
    question = Message(workspace=workspace, conversation=conversation, role="user", content="你好")
    answer = Message(
        workspace=workspace, conversation=conversation, role="assistant", reply_to=question, citations=[{"p": 1}]
    )

    with django_assert_num_queries(1):
        insert_in_one_statement([conversation], [question, answer])

    assert not conversation._state.adding and not answer._state.adding
    stored = Message.objects.select_related("conversation").get(pk=answer.pk)
    assert stored.reply_to_id == question.pk and stored.citations == [{"p": 1}]
    assert stored.conversation.inputs == {"城市": "上海"} and stored.conversation.updated_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_row_that_cannot_be_written_takes_the_whole_statement_with_it(workspace, make_bot):
    from django.db import IntegrityError

    from switchboard.queries import insert_in_one_statement

    bot = make_bot()
    taken = Message.objects.create(
        workspace=workspace,
        conversation=Conversation.objects.create(workspace=workspace, bot=bot, end_user="u"),
        role="user",
        content="first",
    )
    conversation = Conversation(workspace=workspace, bot=bot, end_user="v")
    fine = Message(workspace=workspace, conversation=conversation, role="user", content="fine")
    clash = Message(id=taken.pk, workspace=workspace, conversation=conversation, role="user", content="clash")

    # Autocommit, no transaction around it: the statement alone is all or nothing.
    with pytest.raises(IntegrityError):
        insert_in_one_statement([conversation], [fine, clash])

    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.filter(pk=fine.pk).exists()
    assert Message.objects.get(pk=taken.pk).content == "first"
