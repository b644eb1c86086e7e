"""发函: the formal letter of the 发函 rung as a PDF, from one template (reportlab's platypus).

Chinese is set in reportlab's built-in CID font STSong-Light (Adobe-GB1): the PDF names the
font and does not embed it, so no font file ships and a viewer supplies the CJK glyphs
(every PDF reader does; poppler, pdf.js, Acrobat). Hashes and codes are set in Courier.

`render` is pure: the same `Letter` gives the same text; the bytes differ by reportlab's
creation date and document id, which is why the service stores the bytes it rendered and
records their sha256 on the step (the letter sent is fixed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

_BODY = ParagraphStyle("body", fontName=FONT, fontSize=11, leading=17, wordWrap="CJK")
_TITLE = ParagraphStyle("title", parent=_BODY, fontSize=17, leading=24, alignment=1)
_HEAD = ParagraphStyle("head", parent=_BODY, fontSize=12, leading=18, spaceBefore=8)
_CELL = ParagraphStyle("cell", parent=_BODY, fontSize=8.5, leading=11)
_HASH = ParagraphStyle("hash", parent=_CELL, fontName="Courier", fontSize=7.5)
_RIGHT = ParagraphStyle("right", parent=_BODY, alignment=2)


@dataclass(frozen=True)
class EvidenceLine:
    slot: str  # the slot's Chinese label (code in brackets)
    filename: str
    supplier: str  # 劳动者 / 工会干部 / 平台企业 — a role, never a name
    supplied_at: str
    sha256: str


@dataclass(frozen=True)
class Letter:
    sender: str  # the federation and the region (the case's union)
    addressee: str  # the platform's name
    case_no: str
    kind: str  # the kind's label, zh and en
    statement: str
    text: str
    evidence: tuple[EvidenceLine, ...]
    dated: date


def _p(text: str, style: ParagraphStyle = _BODY) -> Paragraph:
    """A paragraph of plain text (escaped; line breaks kept)."""
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _index(lines: tuple[EvidenceLine, ...]) -> Table | Paragraph:
    if not lines:
        return _p("（未附证据）No evidence attached.")
    head = [_p(t, _CELL) for t in ("序号", "证据项 Slot", "文件名 File", "提供方 Supplier",
                                   "提供时间 Supplied at")]
    rows: list[list[Paragraph | str]] = [head]
    spans = []
    for n, e in enumerate(lines, 1):
        rows.append([_p(str(n), _CELL), _p(e.slot, _CELL), _p(e.filename, _CELL),
                     _p(e.supplier, _CELL), _p(e.supplied_at, _CELL)])
        rows.append(["", _p(f"SHA-256: {e.sha256}", _HASH), "", "", ""])
        spans.append(("SPAN", (1, len(rows) - 1), (4, len(rows) - 1)))
    table = Table(rows, colWidths=[10 * mm, 38 * mm, 52 * mm, 26 * mm, 44 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        *spans]))
    return table


def render(letter: Letter) -> bytes:
    """The letter as PDF bytes (A4)."""
    out = BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=20 * mm, bottomMargin=20 * mm,
                            title=f"工会函 {letter.case_no}", author=letter.sender,
                            subject=letter.kind)
    d = letter.dated
    story = [
        _p("工会函", _TITLE), _p("Letter from the trade union", _TITLE), Spacer(1, 6 * mm),
        _p(f"致 To：{letter.addressee}"),
        _p(f"发函单位 From：{letter.sender}"),
        _p(f"编号 Case No.：{letter.case_no}"),
        _p(f"争议类型 Dispute kind：{letter.kind}"),
        _p("一、事由 Statement", _HEAD), _p(letter.statement),
        _p("二、函告事项 Letter", _HEAD), _p(letter.text),
        _p("三、证据目录 Evidence index", _HEAD),
        _p("下列证据均已固定，文件的 SHA-256 摘要可供核对。"
           "Each item below is fixed; its SHA-256 digest identifies the file.", _CELL),
        Spacer(1, 2 * mm), _index(letter.evidence), Spacer(1, 10 * mm),
        _p(letter.sender, _RIGHT),
        _p(f"{d.year}年{d.month}月{d.day}日（{d.isoformat()}）", _RIGHT),
    ]
    doc.build(story)
    return out.getvalue()
