"""Fixtures for the knowledge tests: bases and documents through the services, real files of every
supported type made on the fly, a local web server for imports by URL, waiting for the worker."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Imports by URL may reach this one local server, as `localhost:<port>` exactly: the same host on
# another port, or 127.0.0.1 by address, stay refused like any private address. Set at collection,
# before the session's Celery worker starts (it inherits the environment); this process read its
# settings before, so they are changed here too.
DOC_SERVER_PORT = _free_port()
os.environ["SWITCHBOARD_KNOWLEDGE_URL_ALLOWLIST"] = f"localhost:{DOC_SERVER_PORT}"
settings.KNOWLEDGE_URL_ALLOWLIST = (f"localhost:{DOC_SERVER_PORT}",)
# Retry a rate-limited embedding after a second, not ten.
os.environ["SWITCHBOARD_KNOWLEDGE_RETRY_DELAY"] = "1"
settings.KNOWLEDGE_RETRY_DELAY_SECONDS = 1


# -- files ----------------------------------------------------------------------------------------------


def docx_bytes(
    *,
    heading: str = "Employee handbook",
    section: str = "Holidays",
    text: str = "Every employee gets twenty-eight days of paid holiday per year.",
) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading(heading, 0)
    document.add_heading(section, 1)
    document.add_paragraph(text)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Grade", "Days"
    table.cell(1, 0).text, table.cell(1, 1).text = "Senior", "30"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def xlsx_bytes(rows: list[list] | None = None) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Price list"
    for row in rows or [["Product", "Price", "Currency"], ["Teapot", 35, "EUR"], ["Kettle", 49.5, "EUR"]]:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def pdf_bytes(pages: list[tuple[str, str]] | None = None, *, password: str | None = None) -> bytes:
    """A real PDF with one bookmark and one text page per (title, text)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for title, text in pages or [
        ("Warranty", "The warranty covers manufacturing defects for two years."),
        ("Returns", "Unused products can be returned within thirty days."),
    ]:
        pdf.add_page()
        pdf.start_section(title)
        pdf.multi_cell(0, 8, text)
    if password:
        pdf.set_encryption(owner_password=password + "-owner", user_password=password)
    return bytes(pdf.output())


SAMPLE_HTML = b"""<!doctype html><html><head><title>Shipping FAQ</title><script>var tracking = 1;</script></head>
<body><nav>Home | Shop | Cart</nav><main><h1>Shipping</h1><h2>Delivery times</h2>
<p>Parcels to Germany arrive within <b>two working days</b>.</p>
<table><tr><th>Country</th><th>Days</th></tr><tr><td>France</td><td>3</td></tr></table></main>
<footer>Copyright</footer></body></html>"""

SAMPLE_MARKDOWN = """# Onboarding

## Laptop setup

Install the VPN client before the first login. Ask IT for a hardware token.

```bash
# this is a comment, not a heading
sudo apt install vpn-client
```

## 报销流程

差旅费用需要在出差结束后十五天内提交。发票必须是原件！审批由部门经理完成。
""".encode()

SAMPLE_CSV = "城市,人口,省份\n广州,1880万,广东\n成都,2140万,四川\n".encode()

SAMPLE_TEXT = (
    b"Opening hours\n\nThe support desk is open Monday to Friday from nine to five.\n\n"
    b"On public holidays the desk is closed."
)


def upload_file(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


# -- bases and documents ----------------------------------------------------------------------------------


@pytest.fixture
def make_base():
    from knowledge import services

    counter = iter(range(1, 10_000))

    def make(workspace, **overrides):
        fields = {"name": f"Base {next(counter)}", "chunk_size": 128, "chunk_overlap": 16}
        fields.update(overrides)
        return services.knowledge_base_create(workspace=workspace, **fields)

    return make


@pytest.fixture
def ingest_now():
    """Add a document and index it in this process (no worker): for retrieval tests."""
    from knowledge import ingestion, services

    def ingest(base, name: str, content: bytes | str):
        data = content.encode() if isinstance(content, str) else content
        document, _ = services.document_create_from_upload(knowledge_base=base, file=upload_file(name, data))
        assert ingestion.document_ingest(document_id=document.pk) == "ready", document.pk
        document.refresh_from_db()
        return document

    return ingest


@pytest.fixture
def other_workspace(db):
    from tests.factories import WorkspaceFactory

    return WorkspaceFactory()


@pytest.fixture
def other_api(other_workspace) -> APIClient:
    from accounts.models import Role
    from accounts.services import api_key_create

    _, secret = api_key_create(workspace=other_workspace, name="other", role=Role.ADMIN)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def wait_for_document(document_id: str, *, statuses=("ready", "failed"), timeout: float = 30.0):
    from knowledge.models import Document

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        document = Document.objects.filter(pk=document_id).first()
        if document is not None and document.status in statuses:
            return document
        time.sleep(0.1)
    document = Document.objects.filter(pk=document_id).first()
    raise AssertionError(f"document {document_id} still {document and document.status} after {timeout:.0f}s")


# -- a web server for imports by URL ------------------------------------------------------------------------


class DocServer:
    """Serves registered paths: (status, headers, body); `redirect(path, to)` answers 302."""

    def __init__(self, port: int):
        self.port = port
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits.append(self.path)
                status, headers, body = server.routes.get(self.path, (404, {"Content-Type": "text/plain"}, b"nope"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str, *, host: str = "localhost", port: int | None = None) -> str:
        return f"http://{host}:{port or self.port}{path}"

    def add(self, path: str, body: bytes, content_type: str) -> str:
        self.routes[path] = (200, {"Content-Type": content_type}, body)
        return self.url(path)

    def redirect(self, path: str, to: str) -> str:
        self.routes[path] = (302, {"Location": to}, b"")
        return self.url(path)

    def start(self) -> DocServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="session")
def doc_server() -> Iterator[DocServer]:
    server = DocServer(DOC_SERVER_PORT).start()
    yield server
    server.stop()


@pytest.fixture
def wait() -> Callable:
    return wait_for_document
