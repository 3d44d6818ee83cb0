"""Web pages (.html, and imports by URL): the readable content, as Markdown, then parsed as such.

BeautifulSoup (with lxml) reads any real-world HTML and its declared encoding; scripts, styles,
navigation, headers, footers and forms are dropped; markdownify writes the rest as Markdown so
headings, lists and tables keep their structure through the Markdown parser.
"""

from __future__ import annotations

from bs4 import BeautifulSoup
from markdownify import MarkdownConverter

from knowledge.parsing.base import ParsedDocument
from knowledge.parsing.markdown import parse_markdown

_NOISE = [
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "canvas",
    "iframe",
    "object",
    "embed",
    "nav",
    "footer",
    "aside",
    "form",
    "button",
    "select",
    "input",
    "textarea",
]
_TITLES = ["h1", "h2", "h3"]


class _Converter(MarkdownConverter):
    def convert_img(self, el, text, parent_tags):  # images: their alt text at most
        return el.attrs.get("alt", "") or ""

    def convert_a(self, el, text, parent_tags):  # links: their text (URLs are noise for search)
        return text


_CONVERTER_OPTIONS = {
    "heading_style": "ATX",
    "bullets": "-",
    "escape_asterisks": False,
    "escape_underscores": False,
    "escape_misc": False,
}


def parse(data: bytes, *, charset: str | None = None) -> ParsedDocument:
    soup = BeautifulSoup(data, "lxml", from_encoding=charset)
    title_tag = soup.find("title")
    title = " ".join(title_tag.get_text().split()) if title_tag else None
    main = soup.find("main") or soup.body or soup
    for tag in main.find_all(_NOISE):
        tag.decompose()
    for tag in main.find_all("header"):
        if not tag.find(_TITLES):  # a site banner; an article's header holds its title
            tag.decompose()
    markdown = _Converter(**_CONVERTER_OPTIONS).convert_soup(main)
    parsed = parse_markdown(markdown)
    parsed.title = title or parsed.title
    return parsed
