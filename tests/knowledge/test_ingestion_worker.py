"""Real files of every supported type, uploaded through the API and indexed by the real worker."""

from __future__ import annotations

import pytest

from knowledge.models import Chunk, Document
from knowledge.retrieval import retrieve
from tests.knowledge.conftest import (
    SAMPLE_CSV,
    SAMPLE_HTML,
    SAMPLE_MARKDOWN,
    SAMPLE_TEXT,
    docx_bytes,
    pdf_bytes,
    upload_file,
    xlsx_bytes,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _upload(api, base, name: str, content: bytes):
    response = api.post(
        f"/api/v1/knowledge-bases/{base.pk}/documents", {"file": upload_file(name, content)}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "queued"
    return response.json()["id"]


def _chunks(document_id: str) -> list[Chunk]:
    return list(Chunk.objects.filter(document_id=document_id).order_by("position"))


def test_every_supported_type_is_indexed_by_the_worker(celery_worker, workspace, api, make_base, wait):
    base = make_base(workspace)
    files = {
        "notes.txt": SAMPLE_TEXT,
        "onboarding.md": SAMPLE_MARKDOWN,
        "faq.html": SAMPLE_HTML,
        "handbook.docx": docx_bytes(),
        "prices.xlsx": xlsx_bytes(),
        "cities.csv": SAMPLE_CSV,
        "policy.pdf": pdf_bytes(),
    }
    ids = {name: _upload(api, base, name, content) for name, content in files.items()}
    documents = {name: wait(document_id) for name, document_id in ids.items()}
    failed = {name: doc.error_message for name, doc in documents.items() if doc.status != "ready"}
    assert not failed

    txt = _chunks(ids["notes.txt"])
    assert [c.text for c in txt] == [
        "Opening hours\n\nThe support desk is open Monday to Friday from nine to five.\n\n"
        "On public holidays the desk is closed."
    ]

    md = _chunks(ids["onboarding.md"])
    assert [c.heading_path for c in md] == [["Onboarding", "Laptop setup"], ["Onboarding", "报销流程"]]
    assert "# this is a comment, not a heading" in md[0].text
    assert md[1].text.startswith("差旅费用")

    html = _chunks(ids["faq.html"])
    assert html[0].heading_path == ["Shipping", "Delivery times"]
    assert "two working days" in html[0].text and "Country: France; Days: 3" in html[0].text
    assert "tracking" not in html[0].text and "Home | Shop" not in html[0].text

    docx = _chunks(ids["handbook.docx"])
    assert docx[0].heading_path == ["Employee handbook", "Holidays"]
    assert "twenty-eight days" in docx[0].text and "Grade: Senior; Days: 30" in docx[0].text

    xlsx = _chunks(ids["prices.xlsx"])
    assert xlsx[0].heading_path == ["Price list"]
    assert xlsx[0].text == "Product: Teapot; Price: 35; Currency: EUR\nProduct: Kettle; Price: 49.5; Currency: EUR"

    csv = _chunks(ids["cities.csv"])
    assert csv[0].text == "城市: 广州; 人口: 1880万; 省份: 广东\n城市: 成都; 人口: 2140万; 省份: 四川"

    pdf = _chunks(ids["policy.pdf"])
    assert [(c.heading_path, c.page) for c in pdf] == [(["Warranty"], 1), (["Returns"], 2)]
    assert "manufacturing defects" in pdf[0].text

    doc = Document.objects.get(pk=ids["policy.pdf"])
    assert (doc.progress_done, doc.progress_total, doc.chunk_count) == (2, 2, 2)
    assert doc.file_type == "pdf" and doc.size_bytes == len(files["policy.pdf"]) and len(doc.content_hash) == 64

    hits = retrieve(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="How long is the warranty?")
    assert hits[0].document_id == ids["policy.pdf"] and hits[0].page == 1
    hits = retrieve(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="成都人口多少")
    assert hits[0].document_id == ids["cities.csv"]
    hits = retrieve(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="差旅费用什么时候提交？")
    assert hits[0].heading_path == ("Onboarding", "报销流程")


def test_import_by_url_through_the_worker(celery_worker, workspace, api, make_base, wait, doc_server):
    base = make_base(workspace)
    url = doc_server.add("/shipping.html", SAMPLE_HTML, "text/html; charset=utf-8")
    response = api.post(f"/api/v1/knowledge-bases/{base.pk}/documents", {"url": url}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["source_type"] == "url"
    document = wait(response.json()["id"])
    assert document.status == "ready", document.error_message
    assert document.name == "Shipping FAQ" and document.file_type == "html" and document.chunk_count == 1
    hits = retrieve(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="delivery to Germany")
    assert hits and hits[0].document_id == document.pk
