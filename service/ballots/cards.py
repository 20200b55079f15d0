"""The ballot cards as a PDF to print: A4 pages of cut-out cards, each with its QR code, code,
category and the typed-code address, cut marks in the margins (fpdf2, docs/decisions/0036).

An office printer leaves 4–6 mm unprinted at each edge; every mark here stays 8 mm inside, so
nothing is clipped at any scaling ("actual size" or "fit"). The font must hold Chinese: a CJK
font found on the machine (Debian's fonts-noto-cjk) or the one PDF_FONT names; without one the
sheet is refused (503) rather than printed with empty boxes — the SVG sheet still works."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import segno
from fpdf import FPDF

from service.ballots.models import BallotCode, BallotSession
from service.ballots.sheets import INSTRUCTION, ballot_url, short_url
from service.errors import PrintFontMissing

PAGE_W, PAGE_H = 210.0, 297.0  # A4, millimetres
MARGIN = 12.0  # inside every printer's unprintable edge, with room for the cut marks
TOP = 17.0  # the page's heading above the top cut marks
COLUMNS, ROWS = 3, 5  # 15 cards a page
CARD_W = (PAGE_W - 2 * MARGIN) / COLUMNS  # 62 mm
CARD_H = (PAGE_H - TOP - MARGIN) / ROWS  # 53.6 mm
QR_SIDE = 30.0  # mm: a phone reads it from arm's length, even a dense one from a long URL
PAD = 3.0
MARK = 4.0  # the cut marks' length in the margin

# (path, index in a collection): Debian's Noto CJK (the Simplified Chinese faces), then others
# a county's server may have. PDF_FONT=path[#index] takes precedence.
FONT_CANDIDATES: tuple[tuple[str, int, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2, 7),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2, 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, 1),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, 1),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0, 0),
)


@dataclass(frozen=True)
class Font:
    path: str
    text: int  # face index for text
    mono: int  # face index for the code (a monospaced face when the collection has one)


def find_font(configured: str | None) -> Font:
    if configured:
        path, _, index = configured.partition("#")
        face = int(index) if index.isdigit() else 0
        if os.path.isfile(path):
            return Font(path, face, face)
        raise PrintFontMissing(
            f"PDF_FONT {path!r} is not a file on this server",
            detail_zh=f"PDF_FONT 指定的字体文件 {path} 不存在。",
        )
    for path, text, mono in FONT_CANDIDATES:
        if os.path.isfile(path):
            return Font(path, text, mono)
    raise PrintFontMissing(
        "no Chinese font on this server: install Debian's fonts-noto-cjk (or set PDF_FONT); "
        "the SVG sheet (format=svg) prints without one",
        detail_zh="服务器上没有中文字体：请安装 fonts-noto-cjk（或设置 PDF_FONT）；"
        "也可以先打印 SVG 格式（format=svg）。",
    )


def pdf(ballot: BallotSession, ballot_codes: list[BallotCode], base_url: str, font: Font) -> bytes:
    labels = {c.code: c.label for c in ballot.categories}
    document = FPDF(orientation="portrait", unit="mm", format="A4")
    document.set_auto_page_break(False)
    document.set_margins(0, 0, 0)
    document.set_title(f"{ballot.title} 无记名测评票")
    document.set_creator("grading-service")
    document.add_font("text", fname=font.path, collection_font_number=font.text)
    document.add_font("mono", fname=font.path, collection_font_number=font.mono)
    per_page = COLUMNS * ROWS
    pages = max(1, -(-len(ballot_codes) // per_page))
    for page in range(pages):
        document.add_page()
        on_page = ballot_codes[page * per_page : (page + 1) * per_page]
        _header(document, ballot.title, page + 1, pages, len(on_page))
        _cut_marks(document, -(-len(on_page) // COLUMNS) if on_page else 1)
        for slot, code in enumerate(on_page):
            row, col = divmod(slot, COLUMNS)
            _card(
                document,
                MARGIN + col * CARD_W,
                TOP + row * CARD_H,
                code.code,
                labels.get(code.category, code.category),
                base_url,
            )
    return bytes(document.output())


def _header(document: FPDF, title: str, page: int, pages: int, count: int) -> None:
    document.set_font("text", size=8)
    document.set_text_color(60)
    document.set_xy(MARGIN, 6)
    document.cell(
        PAGE_W - 2 * MARGIN,
        4,
        f"{title} — 无记名测评票　第{page}页／共{pages}页　本页{count}张　沿虚线剪开",
    )


def _cut_marks(document: FPDF, rows: int) -> None:
    """Solid ticks in the margins where each cut runs, dashed lines between the cards."""
    bottom = TOP + rows * CARD_H
    document.set_draw_color(0)
    document.set_line_width(0.2)
    for col in range(COLUMNS + 1):
        x = MARGIN + col * CARD_W
        document.line(x, TOP - 1 - MARK, x, TOP - 1)
        document.line(x, bottom + 1, x, bottom + 1 + MARK)
    for row in range(rows + 1):
        y = TOP + row * CARD_H
        document.line(MARGIN - 1 - MARK, y, MARGIN - 1, y)
        document.line(PAGE_W - MARGIN + 1, y, PAGE_W - MARGIN + 1 + MARK, y)
    document.set_draw_color(150)
    document.set_dash_pattern(dash=1.5, gap=1.5)
    for col in range(COLUMNS + 1):
        x = MARGIN + col * CARD_W
        document.line(x, TOP, x, bottom)
    for row in range(rows + 1):
        y = TOP + row * CARD_H
        document.line(MARGIN, y, PAGE_W - MARGIN, y)
    document.set_dash_pattern()


def _card(document: FPDF, x: float, y: float, code: str, label: str, base_url: str) -> None:
    qr = segno.make(ballot_url(base_url, code), error="m")
    _qr(document, qr, x + PAD, y + PAD, QR_SIDE)
    right = x + PAD + QR_SIDE + 2.5
    width = x + CARD_W - PAD - right
    document.set_text_color(0)
    document.set_font("text", size=11)
    document.set_xy(right, y + PAD + 1)
    document.multi_cell(width, 5, label)
    document.set_font("text", size=8.5)
    document.set_x(right)
    document.multi_cell(width, 4.2, "无记名\n每码只能投一次\n投后不能修改")
    below = y + PAD + QR_SIDE + 1.5
    document.set_font("mono", size=15)
    document.set_xy(x + PAD, below)
    document.cell(CARD_W - 2 * PAD, 7, code)
    document.set_font("text", size=8)
    document.set_xy(x + PAD, below + 7.5)
    document.cell(CARD_W - 2 * PAD, 4, INSTRUCTION)
    document.set_font("mono", size=9)
    document.set_xy(x + PAD, below + 11.5)
    document.cell(CARD_W - 2 * PAD, 4, short_url(base_url))


def _qr(document: FPDF, qr: segno.QRCode, x: float, y: float, side: float) -> None:
    """The code's dark modules as filled rectangles, one per horizontal run (a quiet zone of
    two modules is left white around it)."""
    rows = [list(r) for r in qr.matrix]
    border = 2
    module = side / (len(rows) + 2 * border)
    document.set_fill_color(0)
    for r, line in enumerate(rows):
        for start, length in _runs(line):
            document.rect(
                x + (border + start) * module,
                y + (border + r) * module,
                length * module,
                module,
                style="F",
            )


def _runs(line: Iterable[int]) -> Iterable[tuple[int, int]]:
    start = None
    cells = list(line)
    for n, dark in enumerate([*cells, 0]):
        if dark and start is None:
            start = n
        elif not dark and start is not None:
            yield start, n - start
            start = None
