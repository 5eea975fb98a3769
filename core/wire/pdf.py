"""Plain PDF documents, written by hand: pages of Helvetica lines, WinAnsi encoding for French.

Attestations and renewal letters need nothing more, so the register writes them itself: no library,
and the same bytes for the same content (documents are reproducible, and tests can read them).
"""

from __future__ import annotations

Line = tuple[int, str]  # (font size, text); an empty text is a blank line
Page = list[Line]

A4 = (595, 842)
LEFT, TOP = 72, 770


def document(pages: list[Page]) -> bytes:
    """A PDF of ``pages``, each a list of lines from the top left margin down."""
    page_count = len(pages)
    font = 3 + 2 * page_count  # catalogue, pages, then a page and its content per page, then the font
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
            b" ".join(b"%d 0 R" % (3 + 2 * index) for index in range(page_count)), page_count),
    ]
    for index, lines in enumerate(pages):
        stream = _content(lines)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
                       b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (*A4, 4 + 2 * index, font))
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _content(lines: Page) -> bytes:
    text = ["BT", f"{LEFT} {TOP} Td"]
    for size, line in lines:
        text.append(f"/F1 {size} Tf")
        text.append(f"({_escape(line)}) Tj")
        text.append(f"0 -{size + 8} Td")
    text.append("ET")
    return "\n".join(text).encode("cp1252", errors="replace")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
