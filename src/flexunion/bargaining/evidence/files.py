"""What an evidence file is: its type decided by the bytes (magic numbers via `filetype`),
never by the name or the declared Content-Type; plain text and CSV have no magic, so they
are accepted only when the name says .txt/.csv and the bytes decode as UTF-8. And the
names a file is stored and downloaded under."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

import filetype

from flexunion.core.errors import DomainError

# sniffed MIME type → stored suffix
ALLOWED: dict[str, str] = {
    "application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg",
    "image/webp": ".webp", "image/heic": ".heic", "video/mp4": ".mp4",
}
TEXT_TYPES = {".txt": "text/plain; charset=utf-8", ".csv": "text/csv; charset=utf-8"}
FILENAME_MAX = 200


class AttachmentTypeNotAllowed(DomainError):
    status, code = 415, "attachment_type_not_allowed"
    title, title_en = "不支持的附件类型", "Attachment type not allowed"


def clean_filename(raw: str | None) -> str:
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name)
                   if unicodedata.category(c)[0] != "C").strip().lstrip(".")
    if len(name) > FILENAME_MAX:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:FILENAME_MAX - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 \
            else name[:FILENAME_MAX]
    return name or "attachment"


def sniff(data: bytes, filename: str) -> tuple[str, str]:
    """(content type, suffix) decided by the bytes; 415 for anything not on the list."""
    allowed = [*ALLOWED, *TEXT_TYPES.values()]
    kind = filetype.guess(data)
    if kind is not None:
        if kind.mime in ALLOWED:
            return kind.mime, ALLOWED[kind.mime]
        raise AttachmentTypeNotAllowed(
            f"不接受 {kind.mime} 类型的文件作为证据。",
            f"Files of type {kind.mime} are not accepted as evidence.",
            extra={"sniffed": kind.mime, "allowed": allowed})
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix in TEXT_TYPES and b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return TEXT_TYPES[suffix], suffix
    raise AttachmentTypeNotAllowed(
        "证据须是 PDF、PNG、JPEG、WebP、HEIC、MP4，或 UTF-8 编码的 .txt/.csv 文件。",
        "Evidence must be a PDF, PNG, JPEG, WebP, HEIC, MP4, or a UTF-8 .txt/.csv file.",
        extra={"sniffed": None, "allowed": allowed})


def content_disposition(filename: str) -> str:
    """RFC 6266 with an ASCII fallback and the UTF-8 name as RFC 5987 `filename*`."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
