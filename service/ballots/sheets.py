"""The printable code sheet: an A4 SVG with one QR code per ballot (segno), and a CSV."""

from __future__ import annotations

import csv
import io
from html import escape

import segno

from service.ballots.models import BallotCode, BallotSession

COLUMNS, ROWS = 4, 6  # 24 cut-out cards per A4 page
CARD_W, CARD_H = 190, 170  # in SVG user units (A4 = 794 × 1123 at 96 dpi)
MARGIN_X, MARGIN_Y = 17, 40
QR_MAX = 102  # the QR code's side on a card, so that three lines of text fit under it


INSTRUCTION = "扫码或打开下方网址输入票码投票"


def ballot_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/b/{code}"


def short_url(base_url: str) -> str:
    """The typed-code page as printed on a card: no scheme, nothing to mistype."""
    return base_url.split("://", 1)[-1].rstrip("/") + "/b"


def svg(ballot: BallotSession, ballot_codes: list[BallotCode], base_url: str) -> str:
    labels = {c.code: c.label for c in ballot.categories}
    per_page = COLUMNS * ROWS
    pages = max(1, -(-len(ballot_codes) // per_page))
    height = 1123 * pages
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="794" height="{height}" '
        f'viewBox="0 0 794 {height}" font-family="sans-serif">'
    ]
    for n, code in enumerate(ballot_codes):
        page, slot = divmod(n, per_page)
        row, col = divmod(slot, COLUMNS)
        x = MARGIN_X + col * CARD_W
        y = page * 1123 + MARGIN_Y + row * CARD_H
        if slot == 0:
            parts.append(
                f'<text x="{MARGIN_X}" y="{page * 1123 + 25}" font-size="14">'
                f"{escape(ballot.title)} — 无记名测评票 第{page + 1}页</text>"
            )
        qr = segno.make(ballot_url(base_url, code.code), error="m")
        parts.append(_card(x, y, qr, labels.get(code.category, code.category), code.code, base_url))
    parts.append("</svg>")
    return "".join(parts)


def _card(x: int, y: int, qr: segno.QRCode, label: str, code: str, base_url: str) -> str:
    """One cut-out card: the QR code with the category beside it; under it the code, one line
    of instructions and the short address of the typed-code page."""
    modules = qr.symbol_size(scale=1, border=1)[0]
    scale = min(3.0, QR_MAX / modules)  # a long PUBLIC_BASE_URL makes a denser code
    side = modules * scale
    right = 6 + side + 6
    return (
        f'<g transform="translate({x},{y})">'
        f'<rect width="{CARD_W - 8}" height="{CARD_H - 8}" fill="none" stroke="#999" '
        f'stroke-dasharray="4 3"/>'
        f'<g transform="translate(6,6)">{qr.svg_inline(scale=scale, border=1)}</g>'
        f'<text x="{right:g}" y="24" font-size="13" font-weight="bold">{escape(label)}</text>'
        f'<text x="{right:g}" y="42" font-size="11">无记名</text>'
        f'<text x="{right:g}" y="58" font-size="11">每码投一次</text>'
        f'<text x="8" y="{side + 24:g}" font-size="16" font-family="monospace">{code}</text>'
        f'<text x="8" y="{side + 40:g}" font-size="10">{INSTRUCTION}</text>'
        f'<text x="8" y="{side + 55:g}" font-size="11" font-family="monospace">'
        f"{escape(short_url(base_url))}</text>"
        f"</g>"
    )


def csv_text(ballot: BallotSession, ballot_codes: list[BallotCode], base_url: str) -> str:
    labels = {c.code: c.label for c in ballot.categories}
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(["code", "category", "类别", "url"])
    for code in ballot_codes:
        writer.writerow(
            [
                code.code,
                code.category,
                labels.get(code.category, ""),
                ballot_url(base_url, code.code),
            ]
        )
    return buffer.getvalue()
