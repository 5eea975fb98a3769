"""Supporting documents for tests and benchmarks: plain scans, and the hostile files a register must refuse.

Every file is built here from its format's structure (no binary fixtures): a PDF by the register's
own writer (``core.wire.pdf``), padded to a size with an image-like stream; a PNG with real chunks
and CRCs; a baseline JPEG's segments.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from functools import cache

from core.wire.pdf import document


def pdf(size: int | None = None, text: str = "Avis d'imposition 2026") -> bytes:
    """A PDF of one page; with ``size``, padded to exactly that many bytes with a scan-like stream
    (incompressible, as scanned images are) in an incremental update."""
    plain = document([[(12, text)]])
    if size is None:
        return plain
    start = len(plain)
    head = b"6 0 obj\n<< /Length %d /Subtype /Image /Width 1 /Height 1 >>\nstream\n"
    tail = (b"\nendstream\nendobj\nxref\n6 1\n%010d 00000 n \ntrailer\n<< /Size 7 /Root 1 0 R >>\n"
            b"startxref\n%d\n%%%%EOF\n")
    overhead = len(head % 0) + len(tail % (start, start)) + 8
    filler = random.Random(size).randbytes(max(0, size - start - overhead))
    for _ in range(3):  # the digits of the length and offsets settle in two rounds
        body = (head % len(filler)) + filler + (tail % (start, start))
        filler = filler[:max(0, len(filler) + size - start - len(body))]
    padded = plain + (head % len(filler)) + filler + (tail % (start, start))
    return padded + b" " * (size - len(padded)) if len(padded) < size else padded


def png(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def jpeg(width: int = 2, height: int = 2) -> bytes:
    def segment(marker: int, body: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body

    return (b"\xff\xd8" + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
            + segment(0xDB, b"\x00" + bytes(range(1, 65)))
            + segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
            + segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")
            + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x00\x00" + b"\xff\xd9")


# -- hostile files ------------------------------------------------------------------------------


def not_a_pdf() -> bytes:
    """Text that says it is a PDF (and would be named ``avis.pdf``)."""
    return b"%PDF-1.4\nCeci n'est pas un PDF.\n"


@cache
def zip_bomb_pdf() -> bytes:
    """A PDF whose one Flate stream of ~100 KB expands to 100 MB of zeros."""
    bomb = zlib.compress(b"\x00" * (100 * 1024 * 1024), 9)
    plain = document([[(12, "Bulletin de salaire")]])
    return plain + (b"6 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(bomb) + bomb
                    + b"\nendstream\nendobj\ntrailer\n<< /Size 7 /Root 1 0 R >>\n%%EOF\n")


def pdf_with_javascript(escaped: bool = False) -> bytes:
    """A PDF whose opening runs JavaScript (``escaped``: the name written ``/J#61vaScript``)."""
    name = b"/J#61vaScript" if escaped else b"/JavaScript"
    plain = document([[(12, "Quittance")]])
    return plain + (b"6 0 obj\n<< /Type /Action /S " + name + b" /JS (app.alert(1)) >>\nendobj\n"
                    b"trailer\n<< /Size 7 /Root 1 0 R /OpenAction 6 0 R >>\n%%EOF\n")


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("lisez-moi.txt", "Une archive cachée dans la pièce." * 20)
    return buffer.getvalue()


def pdf_zip_polyglot() -> bytes:
    """A PDF that is also a ZIP archive (the archive appended; ZIP readers start from the end)."""
    return pdf() + zip_archive()


def jpeg_zip_polyglot() -> bytes:
    return jpeg() + zip_archive()


def png_with_trailer() -> bytes:
    return png() + b"<?php system($_GET['c']); ?>"


def shifted_pdf_polyglot() -> bytes:
    """A "PNG" (a GIF-like header, really) with a PDF starting a few bytes in: readers find it there."""
    return b"GIF89a\x01\x00\x01\x00" + pdf()


def html_as_png() -> bytes:
    return b"<html><script>alert(1)</script></html>"


def oversize_pdf() -> bytes:
    return pdf(2 * 1024 * 1024 + 1)


def png_bomb() -> bytes:
    """A PNG declaring 100,000 × 100,000 pixels (40 GB once decoded)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))


HOSTILE = {
    "oversize": (oversize_pdf, "NUU222"),
    "not a pdf": (not_a_pdf, "NUU221"),
    "zip bomb in a pdf": (zip_bomb_pdf, "NUU221"),
    "javascript in a pdf": (pdf_with_javascript, "NUU221"),
    "escaped javascript name": (lambda: pdf_with_javascript(escaped=True), "NUU221"),
    "pdf + zip polyglot": (pdf_zip_polyglot, "NUU221"),
    "jpeg + zip polyglot": (jpeg_zip_polyglot, "NUU221"),
    "png + trailing script": (png_with_trailer, "NUU221"),
    "pdf shifted after another header": (shifted_pdf_polyglot, "NUU221"),
    "html": (html_as_png, "NUU221"),
    "zip archive": (zip_archive, "NUU221"),
    "png pixel bomb": (png_bomb, "NUU221"),
    "empty": (lambda: b"", "NUU221"),
}
