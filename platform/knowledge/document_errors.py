"""Why a document failed, in the reader's language.

The indexing worker stores a failed document's code and message once, in English: it writes
without a reader, and the message is often the parser's or the server's own words (a page count, an
HTTP status). Pages show that message to English readers as it is; a reader of another language
gets the code's explanation in their language, what to do included, with the stored message
beside it for the details.
"""

from __future__ import annotations

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

EXPLANATIONS = {
    "file_too_large": _("The file is larger than the size limit; split it into smaller files."),
    "file_missing": _("The uploaded file is missing from storage; upload it again."),
    "unsupported_file_type": _("This kind of file is not supported; use .txt, .md, .pdf, .docx, .html, .csv or .xlsx."),
    "duplicate_document": _("This content is already in the knowledge base."),
    "empty_document": _(
        "No text was found in the document (a scanned PDF has only images); upload a version with text."
    ),
    "not_text": _("The file contains binary data, not text; upload it in one of the supported formats."),
    "corrupt_file": _("The file is damaged or is not the kind of file its name says."),
    "encrypted_file": _("The file is protected by a password; remove the password and upload it again."),
    "too_many_pages": _("The PDF has more pages than the limit; split it into smaller files."),
    "too_many_rows": _("The table has more rows than the limit; split it into smaller files."),
    "zip_bomb": _("The file unpacks to far more data than it holds, and was refused."),
    "url_http_error": _("The server at the URL did not send the document (it answered with an error)."),
    "url_blocked_address": _(
        "The URL points to a private or blocked network address; a workspace admin can allow it under "
        "Network allowlist."
    ),
    "url_dns_failure": _("The URL's host name could not be found; check the address."),
    "url_invalid_url": _("The URL is not valid; check the address."),
    "url_too_many_redirects": _("The URL redirects too many times."),
    "egress_misconfigured": _("The server's URL allowlist setting is wrong; tell the platform's operator."),
    "provider_auth_error": _(
        "The embedding provider rejected the API key; a workspace admin should update it under Model providers."
    ),
    "provider_rate_limited": _("The embedding provider is limiting requests; re-index the document a little later."),
    "provider_unavailable": _("The embedding provider is unavailable; re-index the document a little later."),
    "embedder_unavailable": _("The built-in embedder could not be loaded; tell the platform's operator."),
    "database_unavailable": _("The database was unavailable while indexing; re-index the document."),
    "timeout": _("Indexing took too long and was stopped; split the document into smaller files."),
    "internal_error": _("Indexing failed because of an internal error; try re-indexing the document."),
}
# Any other failure to fetch a URL (timeouts, refused connections, broken responses).
URL_FAILED = _("The URL could not be fetched; check that it works in a browser, then re-index.")


def explanation(code: str, message: str) -> str:
    """What to show for a failure: the stored message to English readers (or when the code has no
    explanation), else the code's explanation in the reader's language."""
    if (get_language() or "en").startswith("en"):
        return message
    if code in EXPLANATIONS:
        return str(EXPLANATIONS[code])
    if code.startswith("url_"):
        return str(URL_FAILED)
    return message
