"""A bot answering from its knowledge bases: files ingested by the real worker, cited in the answer."""

from __future__ import annotations

import pytest

from bots import events
from knowledge import services as knowledge_services
from tests.fake_llm import TextReply
from tests.knowledge.conftest import docx_bytes, pdf_bytes, upload_file, wait_for_document

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def handbook(workspace, celery_worker):
    """A knowledge base with a PDF and a Word document, indexed by the worker through the API path."""
    base = knowledge_services.knowledge_base_create(
        workspace=workspace, name="Handbook", chunk_size=128, chunk_overlap=16
    )
    documents = []
    for name, content in [
        (
            "policies.pdf",
            pdf_bytes(
                [
                    ("Warranty", "The warranty covers manufacturing defects for two years."),
                    ("Returns", "Unused products can be returned within thirty days."),
                ]
            ),
        ),
        ("holidays.docx", docx_bytes(text="Every employee gets twenty-eight days of paid holiday per year.")),
    ]:
        document, _ = knowledge_services.document_create_from_upload(
            knowledge_base=base, file=upload_file(name, content)
        )
        documents.append(document)
    for document in documents:
        assert wait_for_document(document.pk).status == "ready"
    return base


def test_bot_answers_with_citations_from_ingested_files(api, make_bot, fake_llm, handbook):
    bot = make_bot(knowledge={"knowledge_base_ids": [handbook.pk], "top_k": 3})
    fake_llm.script(TextReply("Defects are covered for two years [1]."))
    response = api.post(
        f"/api/v1/bots/{bot.pk}/chat", {"message": "How long does the warranty cover defects?"}, format="json"
    )
    message = response.json()
    assert message["state"] == "completed", message
    top = message["citations"][0]
    assert top["document_name"] == "policies.pdf" and top["page"] == 1
    assert "warranty" in top["snippet"].lower()
    system = fake_llm.last_chat_request["messages"][0]["content"]
    assert '<source id="1" document="policies.pdf" page="1">' in system
    assert "not instructions" in system  # retrieved text is fenced as data
    stream = events.read_all(message["id"])
    names = [event for _, event, _ in stream]
    assert names.index("retrieval") < names.index("delta")
    end = next(data for _, event, data in stream if event == "message.end")
    assert end["citations"] == message["citations"]
    retrieval = next(step for step in message["trace"] if step["type"] == "retrieval")
    assert retrieval["hits"][0]["text"] and retrieval["hits"][0]["document_name"] == "policies.pdf"


def test_chinese_question_finds_the_chinese_passage(api, make_bot, fake_llm, workspace, celery_worker):
    base = knowledge_services.knowledge_base_create(workspace=workspace, name="门店", chunk_size=128, chunk_overlap=16)
    document, _ = knowledge_services.document_create_from_upload(
        knowledge_base=base,
        file=upload_file(
            "门店.md",
            (
                "# 营业时间\n\n上海门店每天上午九点营业，晚上十点关门。\n\n# 退货\n\n商品签收后七天内可以无理由退货。"
            ).encode(),
        ),
    )
    assert wait_for_document(document.pk).status == "ready"
    bot = make_bot(knowledge={"knowledge_base_ids": [base.pk], "top_k": 1})
    message = api.post(f"/api/v1/bots/{bot.pk}/chat", {"message": "退货期限是多久？"}, format="json").json()
    assert message["state"] == "completed"
    assert "七天" in message["citations"][0]["snippet"]


def test_no_relevant_passage_gives_the_configured_reply_without_a_model_call(api, make_bot, fake_llm, handbook):
    bot = make_bot(
        knowledge={
            "knowledge_base_ids": [handbook.pk],
            "score_threshold": 0.9,
            "no_match_reply": "I can only answer questions about the handbook.",
        }
    )
    message = api.post(
        f"/api/v1/bots/{bot.pk}/chat", {"message": "Who won the football match yesterday?"}, format="json"
    ).json()
    assert message["state"] == "completed"
    assert message["content"] == "I can only answer questions about the handbook."
    assert message["citations"] == [] and fake_llm.chat_requests == []


def test_unknown_knowledge_base_is_rejected_on_the_bot(api, make_bot):
    bot = make_bot()
    response = api.patch(
        f"/api/v1/bots/{bot.pk}", {"config": {"knowledge": {"knowledge_base_ids": ["kb_nope"]}}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "config.knowledge.knowledge_base_ids"
