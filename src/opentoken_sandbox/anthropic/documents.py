"""Anthropic ``document`` blocks: source rules, token counts and citations.

Sources: ``base64`` (``application/pdf``; the bytes must be a PDF: ``The PDF specified was not valid.``,
``PDF cannot be empty``, ``The PDF specified is password protected``), ``text`` (``text/plain``), ``content``
(a string or text/image blocks), ``url``, ``file``. A PDF counts ``PDF_PAGE_TOKENS`` per page (pages are
counted from its ``/Type /Page`` objects); its text is read from the literal strings of uncompressed content
streams, which is what the small PDFs of tests contain.

With ``citations: {"enabled": true}`` the reply cites the document: ``page_location`` for a PDF,
``char_location`` for plain text, ``content_block_location`` for a content source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from opentoken_sandbox.anthropic.errors import invalid
from opentoken_sandbox.signing import decode_b64
from opentoken_sandbox.tokens import IMAGE_TOKENS, count_text

PDF_PAGE_TOKENS = 1500
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
_LITERAL = re.compile(rb"\(((?:[^()\\]|\\.)*)\)\s*T[jJ]")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_SOURCES = ("base64", "text", "content", "url", "file")


@dataclass(frozen=True)
class Pdf:
    pages: int
    text: str


def read_pdf(raw: bytes) -> Pdf:
    pages = len(_PAGE.findall(raw))
    strings = [m.group(1).replace(rb"\(", b"(").replace(rb"\)", b")") for m in _LITERAL.finditer(raw)]
    text = " ".join(s.decode("latin-1") for s in strings)
    return Pdf(max(1, pages), " ".join(text.split()))


def check_document(where: str, block: dict[str, Any]) -> None:
    source = block.get("source")
    kind = source.get("type") if isinstance(source, dict) else None
    if kind not in _SOURCES:
        raise invalid(f"{where}.document.source: Input does not match the expected shape.")
    assert isinstance(source, dict)
    if kind == "base64":
        _check_pdf(where, source)
    elif kind == "text":
        if source.get("media_type") != "text/plain":
            raise invalid(f"{where}.document.source.text.media_type: Input should be 'text/plain'")
        if not isinstance(source.get("data"), str):
            raise invalid(f"{where}.document.source.text.data: Field required")
    elif kind == "content" and not isinstance(source.get("content"), str | list):
        raise invalid(f"{where}.document.source.content.content: Field required")
    elif kind == "url" and not isinstance(source.get("url"), str):
        raise invalid(f"{where}.document.source.url.url: Field required")
    citations = block.get("citations")
    if citations is not None and (not isinstance(citations, dict) or not isinstance(citations.get("enabled"), bool)):
        raise invalid(f"{where}.document.citations.enabled: Input should be a valid boolean")


def _check_pdf(where: str, source: dict[str, Any]) -> None:
    if source.get("media_type") != "application/pdf":
        raise invalid(f"{where}.pdf.source.base64.media_type: Input should be 'application/pdf'")
    data = source.get("data")
    if not isinstance(data, str):
        raise invalid(f"{where}.pdf.source.base64.data: Field required")
    raw = decode_b64(data)
    if raw is not None and not raw:
        raise invalid(f"{where}.pdf.source.base64.data: PDF cannot be empty")
    if raw is None or not raw.startswith(b"%PDF-"):
        raise invalid(f"{where}.pdf.source.base64.data: The PDF specified was not valid.")
    if b"/Encrypt" in raw:
        raise invalid(f"{where}.pdf.source.base64.data: The PDF specified is password protected.")


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")


def document_text(block: dict[str, Any]) -> str:
    source = block["source"]
    if source["type"] == "base64":
        return read_pdf(decode_b64(source["data"]) or b"").text
    if source["type"] == "text":
        return str(source["data"])
    if source["type"] == "content":
        return _content_text(source["content"])
    return ""


def document_tokens(block: dict[str, Any]) -> int:
    source = block.get("source") or {}
    extra = count_text(str(block.get("title") or "")) + count_text(str(block.get("context") or ""))
    if source.get("type") == "base64":
        return read_pdf(decode_b64(source["data"]) or b"").pages * PDF_PAGE_TOKENS + extra
    if source.get("type") in ("text", "content"):
        return count_text(document_text(block)) + extra
    return IMAGE_TOKENS + extra


def cites(block: dict[str, Any]) -> bool:
    citations = block.get("citations")
    return block.get("type") == "document" and isinstance(citations, dict) and citations.get("enabled") is True


def citation(block: dict[str, Any], index: int) -> dict[str, Any]:
    """A citation of the document's first sentence (or of its title when no text can be read)."""
    text = document_text(block)
    match = _SENTENCE.search(text)
    cited = match.group(0).strip() if match else ""
    title = block.get("title")
    kind = block["source"]["type"]
    out: dict[str, Any] = {"type": "char_location", "cited_text": cited or str(title or ""), "document_index": index}
    out["document_title"] = title
    if kind == "base64":
        out.update(type="page_location", start_page_number=1, end_page_number=2)
    elif kind == "content":
        out.update(type="content_block_location", start_block_index=0, end_block_index=1)
    else:
        start = text.find(cited) if cited else 0
        out.update(start_char_index=max(0, start), end_char_index=max(0, start) + len(cited))
    return out
