"""Bad input: refused at once when possible, otherwise the document ends `failed` with a reason a
person understands; the rest of the base is untouched and the worker keeps serving."""

from __future__ import annotations

import io
import zipfile

import pytest

from knowledge.models import Chunk, Document, KnowledgeBase
from knowledge.retrieval import retrieve
from tests.knowledge.conftest import SAMPLE_HTML, SAMPLE_TEXT, docx_bytes, pdf_bytes, upload_file


def _post_file(api, base, name: str, content: bytes):
    return api.post(
        f"/api/v1/knowledge-bases/{base.pk}/documents", {"file": upload_file(name, content)}, format="multipart"
    )


def _bomb(member: str, *, size: int = 60 * 1024 * 1024) -> bytes:
    """A zip holding `member` that declares (and is) `size` bytes of zeros: ~60 KB on disk."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open(member, "w", force_zip64=True) as handle:
            block = b"\0" * (1024 * 1024)
            for _ in range(size // len(block)):
                handle.write(block)
    return buffer.getvalue()


# -- refused at upload ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_unsupported_types_are_refused_with_a_json_error(api, workspace, make_base):
    base = make_base(workspace)
    response = _post_file(api, base, "setup.exe", b"MZ\x90\x00binary")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsupported_file_type"
    assert "'.exe' files are not supported" in response.json()["error"]["message"]
    response = _post_file(api, base, "old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old word")
    assert response.status_code == 400
    assert "save the file as .docx" in response.json()["error"]["message"]
    assert not Document.objects.exists()


@pytest.mark.django_db
def test_files_over_the_limit_are_refused_with_413(api, workspace, make_base, settings):
    settings.KNOWLEDGE_MAX_UPLOAD_BYTES = 1024 * 1024
    base = make_base(workspace)
    response = _post_file(api, base, "big.txt", b"a" * (1024 * 1024 + 10))
    assert response.status_code == 413
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "code": "file_too_large",
        "message": "The file is 1.0 MB; the limit is 1 MB.",
        "param": "file",
    }
    # A body declared far over the limit is refused before it is read.
    response = api.generic(
        "POST",
        f"/api/v1/knowledge-bases/{base.pk}/documents",
        data=b"x" * 10,
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(5 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert not Document.objects.exists()


@pytest.mark.django_db
def test_empty_files_duplicates_and_bad_urls_are_refused(api, workspace, make_base):
    base = make_base(workspace)
    response = _post_file(api, base, "empty.txt", b"")
    assert (response.status_code, response.json()["error"]["code"]) == (422, "empty_file")

    first = _post_file(api, base, "notes.txt", SAMPLE_TEXT)
    assert first.status_code == 201
    again = _post_file(api, base, "copy of notes.txt", SAMPLE_TEXT)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_document"
    assert first.json()["id"] in again.json()["error"]["message"]

    for url, fragment in [
        ("ftp://example.com/a.pdf", "only http:// and https://"),
        ("http://user:pw@example.com/", "user name or password"),
        ("example.com/a", "scheme"),
    ]:
        response = api.post(f"/api/v1/knowledge-bases/{base.pk}/documents", {"url": url}, format="json")
        assert response.status_code == 400, url
        assert response.json()["error"]["code"] == "invalid_url" and fragment in response.json()["error"]["message"]
    response = api.post(f"/api/v1/knowledge-bases/{base.pk}/documents", {}, format="json")
    assert (response.status_code, response.json()["error"]["param"]) == (400, "file")
    assert Document.objects.count() == 1


# -- failed in the worker ------------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_bad_documents_fail_with_reasons_and_change_nothing_else(
    celery_worker, api, workspace, make_base, wait, doc_server
):
    base = make_base(workspace)
    good = _post_file(api, base, "notes.txt", SAMPLE_TEXT).json()["id"]
    assert wait(good).status == "ready"
    chunks_before = list(Chunk.objects.filter(knowledge_base=base).values_list("id", "text"))
    base_before = KnowledgeBase.objects.get(pk=base.pk).chunk_count

    encrypted = pdf_bytes(password="secret")
    assert b"/Encrypt" in encrypted
    blank_pdf = pdf_bytes([("Cover", "")])
    uploads = {
        "damaged.pdf": b"%PDF-1.7\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\ngarbage\n%%EOF",
        "not-really.pdf": b"this is plain text pretending to be a PDF",
        "secret.pdf": encrypted,
        "scanned.pdf": blank_pdf,
        "blank.txt": b" \n\n \t\n",
        "bomb.docx": _bomb("word/document.xml"),
        "bomb.xlsx": _bomb("xl/workbook.xml"),
        "broken.docx": b"PK\x03\x04 not a real zip at all",
        "locked.xlsx": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1encrypted office file",
    }
    ids = {}
    for name, content in uploads.items():
        response = _post_file(api, base, name, content)
        assert response.status_code == 201, (name, response.json())
        ids[name] = response.json()["id"]
    urls = {
        "private address": doc_server.url("/x.html", host="10.20.30.40", port=80),
        "loopback by name": doc_server.url("/shipping.html", port=doc_server.port + 1),
        "redirect to loopback": doc_server.redirect("/go", doc_server.url("/shipping.html", host="127.0.0.1")),
        "http error": doc_server.url("/missing.html"),
    }
    doc_server.add("/shipping.html", SAMPLE_HTML, "text/html")
    for label, url in urls.items():
        response = api.post(f"/api/v1/knowledge-bases/{base.pk}/documents", {"url": url}, format="json")
        assert response.status_code == 201, (label, response.json())
        ids[label] = response.json()["id"]

    outcome = {name: wait(document_id) for name, document_id in ids.items()}
    assert {name: doc.status for name, doc in outcome.items()} == {name: "failed" for name in ids}
    reasons = {name: (doc.error_code, doc.error_message) for name, doc in outcome.items()}
    expected = {
        "damaged.pdf": ("corrupt_file", "The PDF is damaged"),
        "not-really.pdf": ("corrupt_file", "The file is not a PDF"),
        "secret.pdf": ("encrypted_file", "The PDF is password-protected"),
        "scanned.pdf": ("empty_document", "probably scanned images"),
        "blank.txt": ("empty_document", "The document is empty"),
        "bomb.docx": ("zip_bomb", "zip bomb"),
        "bomb.xlsx": ("zip_bomb", "zip bomb"),
        "broken.docx": ("corrupt_file", "not a valid Word file"),
        "locked.xlsx": ("encrypted_file", "password-protected"),
        "private address": ("url_blocked_address", "10.20.30.40 is a private address"),
        "loopback by name": ("url_blocked_address", "resolves to 127.0.0.1, a loopback address"),
        "redirect to loopback": ("url_blocked_address", "127.0.0.1 is a loopback address"),
        "http error": ("url_http_error", "HTTP 404"),
    }
    for name, (code, fragment) in expected.items():
        assert reasons[name][0] == code, (name, reasons[name])
        assert fragment in reasons[name][1], (name, reasons[name])
    assert "/shipping.html" not in [hit for hit in doc_server.hits if hit != "/go"]  # never fetched

    # Nothing else in the base changed, failed documents hold no chunks, and nothing half-indexed answers.
    assert list(Chunk.objects.filter(knowledge_base=base).values_list("id", "text")) == chunks_before
    assert KnowledgeBase.objects.get(pk=base.pk).chunk_count == base_before
    hits = retrieve(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="support desk opening hours")
    assert {hit.document_id for hit in hits} == {good}

    # The worker is still serving.
    later = _post_file(api, base, "handbook.docx", docx_bytes()).json()["id"]
    assert wait(later).status == "ready"

    # And the API shows the reason.
    body = api.get(f"/api/v1/documents/{ids['secret.pdf']}").json()
    assert body["status"] == "failed" and body["error"]["code"] == "encrypted_file" and body["searchable"] is False
