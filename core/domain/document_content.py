"""What a supporting document's bytes may be: a PDF, a JPEG or a PNG, told by the content, never the name.

Each format is walked as its specification structures it, far enough to refuse what is not a plain
scanned document:
- everything: at most 2 MB; no HTML or script in the first kilobyte (where browsers sniff); no ZIP
  archive whose end-of-central-directory reaches the end of the file (a ZIP is read from its end,
  so a "PDF" ending with one is also an archive: a polyglot);
- PDF: ``%PDF-1.x`` at byte 0 (readers accept it anywhere in the first kilobyte: that is what
  polyglots use), ``%%EOF`` at the end, objects present; no active content (JavaScript, launch
  actions, embedded files, XFA forms, rich media), names compared after ``#xx`` decoding; every
  Flate stream decompressed within a budget (a zip bomb is refused, not expanded);
- JPEG: SOI, segments well chained up to the scan, EOI last with nothing after it, pixel count bounded;
- PNG: signature, IHDR first, every chunk's CRC right, IEND last with nothing after, pixel count bounded.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

from .documents import MAX_DOCUMENT_BYTES
from .errors import DocumentRefused, DocumentTooLarge

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
MEDIA_TYPES = (PDF, JPEG, PNG)

MAX_PIXELS = 60_000_000  # a 600 dpi A3 scan is 70 Mpx in colour; ours: 50 Mpx plus margin
MAX_INFLATED_BYTES = 64 * 1024 * 1024  # all of a PDF's Flate streams, decompressed
MAX_STREAM_RATIO = 200  # one stream's decompressed size over its compressed size (text runs ~10, images ~1)
SNIFFED = 1024

_MARKUP = re.compile(rb"<\s*(?:html|script|body|svg|iframe|!doctype|\?php)", re.IGNORECASE)
_ACTIVE_NAMES = {b"JavaScript", b"JS", b"Launch", b"EmbeddedFile", b"EmbeddedFiles", b"XFA", b"RichMedia",
                 b"SubmitForm", b"ImportData", b"GoToE"}
_PDF_NAME = re.compile(rb"/([^\s/<>\[\]()%{}]+)")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM = re.compile(rb"<<(?P<dict>.{0,4096}?)>>\s*stream\r?\n", re.DOTALL)


@dataclass(frozen=True)
class Inspected:
    media_type: str
    size: int


def inspect(content: bytes) -> Inspected:
    """The media type of ``content``, or DocumentTooLarge / DocumentRefused saying why not."""
    if len(content) > MAX_DOCUMENT_BYTES:
        raise DocumentTooLarge(f"Pièce de {len(content)} octets : au plus {MAX_DOCUMENT_BYTES}", "fichier")
    if not content:
        raise DocumentRefused("Pièce vide", "fichier")
    if _MARKUP.search(content[:SNIFFED]):
        raise DocumentRefused("Balisage HTML ou script en tête de fichier : refusé", "fichier")
    _refuse_trailing_zip(content)
    if content.startswith(b"%PDF-"):
        _check_pdf(content)
        return Inspected(PDF, len(content))
    if content.startswith(b"\xff\xd8\xff"):
        _check_jpeg(content)
        return Inspected(JPEG, len(content))
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        _check_png(content)
        return Inspected(PNG, len(content))
    if b"%PDF-" in content[:SNIFFED]:
        raise DocumentRefused("En-tête PDF décalé : un PDF commence par %PDF- à son premier octet", "fichier")
    raise DocumentRefused("Format non accepté : PDF, JPEG ou PNG, reconnus par leur contenu", "fichier")


def _refuse_trailing_zip(content: bytes) -> None:
    tail_start = max(0, len(content) - 65_557)  # 22-byte record plus the longest comment
    position = content.rfind(b"PK\x05\x06", tail_start)
    while position != -1:
        if position + 22 <= len(content):
            comment_length = struct.unpack_from("<H", content, position + 20)[0]
            if position + 22 + comment_length == len(content):
                raise DocumentRefused("Archive ZIP accolée au fichier (fichier polyglotte) : refusé", "fichier")
        position = content.rfind(b"PK\x05\x06", tail_start, position)


# -- PDF ----------------------------------------------------------------------------------------


def _check_pdf(content: bytes) -> None:
    if not re.match(rb"%PDF-[12]\.[0-9]\s", content):
        raise DocumentRefused("En-tête PDF invalide", "fichier")
    if not re.search(rb"%%EOF\s*$", content[-1024:]):
        raise DocumentRefused("Ce n'est pas un PDF : pas de marque de fin %%EOF", "fichier")
    if not re.search(rb"\d+\s+\d+\s+obj\b", content) or b"trailer" not in content and b"/XRef" not in content:
        raise DocumentRefused("Ce n'est pas un PDF : ni objets ni table de références", "fichier")
    _refuse_active_content(content)
    inflated = 0
    for match in _STREAM.finditer(content):
        dictionary = match.group("dict")
        end = content.find(b"endstream", match.end())
        if end == -1:
            raise DocumentRefused("PDF tronqué : flux sans fin", "fichier")
        filters = _filters(dictionary)
        if filters == ():  # plain: scanned with the whole file above
            continue
        if filters in _FLATE:
            data = _inflate(content[match.end():end], MAX_INFLATED_BYTES - inflated)
            inflated += len(data)
            _refuse_active_content(data)
        elif filters not in _OPAQUE:
            raise DocumentRefused("Flux PDF d'un codage que le registre ne lit pas (ASCIIHex, ASCII85, LZW, "
                                  "chaîne de filtres…) : refusé, son contenu ne pourrait pas être vérifié", "fichier")


# A stream's filters decide what the register can check in it: plain or Flate streams are read and
# scanned; an image codec alone decodes to pixels, never to PDF objects; any other filter or chain could
# hide active content from the scan, so a document with one is refused (docs/REGISTER.md).
_FLATE = {(b"FlateDecode",), (b"Fl",)}
_OPAQUE = {(name,) for name in (b"DCTDecode", b"DCT", b"JPXDecode", b"CCITTFaxDecode", b"CCF", b"JBIG2Decode")}
_FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[^\s/<>\[\]()%{}]+|\d+\s+\d+\s+R)")


def _filters(dictionary: bytes) -> tuple[bytes, ...] | None:
    """The names of a stream's filters, in order; None when they are not written out (an indirect object)."""
    found = _FILTER.search(_decoded_names(dictionary))
    if found is None:
        return ()
    value = found.group(1)
    if value.endswith(b"R"):
        return None
    return tuple(_PDF_NAME.findall(value))


def _decoded_names(raw: bytes) -> bytes:
    return _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def _refuse_active_content(raw: bytes) -> None:
    for name in _PDF_NAME.findall(raw):
        if _decoded_names(name) in _ACTIVE_NAMES:
            raise DocumentRefused("Contenu actif dans le PDF (JavaScript, action, fichier joint, formulaire XFA) : "
                                  "refusé", "fichier")


def _inflate(compressed: bytes, budget: int) -> bytes:
    """The stream decompressed, refused past ``budget`` bytes or a ratio no scan reaches (a zip bomb)."""
    limit = min(budget, max(len(compressed), 4096) * MAX_STREAM_RATIO)
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(compressed, limit + 1)
    except zlib.error:  # readers decode what they can of a damaged stream: what the scan cannot read is refused
        raise DocumentRefused("Flux compressé du PDF illisible : refusé, son contenu ne pourrait pas être vérifié",
                              "fichier") from None
    if len(data) > limit:
        raise DocumentRefused("Flux compressé démesuré dans le PDF (bombe de décompression) : refusé", "fichier")
    return data


# -- JPEG ---------------------------------------------------------------------------------------

_SOF = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _check_jpeg(content: bytes) -> None:
    position = 2
    seen_frame = False
    while True:
        if position + 4 > len(content) or content[position] != 0xFF:
            raise DocumentRefused("Ce n'est pas un JPEG : segments mal chaînés", "fichier")
        marker = content[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        length = struct.unpack_from(">H", content, position + 2)[0]
        if length < 2 or position + 2 + length > len(content):
            raise DocumentRefused("Ce n'est pas un JPEG : segment tronqué", "fichier")
        if marker in _SOF:
            if length < 8:
                raise DocumentRefused("JPEG : en-tête d'image tronqué", "fichier")
            height, width = struct.unpack_from(">HH", content, position + 5)
            _check_pixels(width, height)
            seen_frame = True
        position += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data up to EOI
            break
    if not seen_frame:
        raise DocumentRefused("JPEG sans en-tête d'image", "fichier")
    if not content.endswith(b"\xff\xd9"):
        raise DocumentRefused("Données après la fin de l'image JPEG (fichier polyglotte) : refusé", "fichier")


# -- PNG ----------------------------------------------------------------------------------------


def _check_png(content: bytes) -> None:
    position = 8
    first = True
    while True:
        if position + 12 > len(content):
            raise DocumentRefused("Ce n'est pas un PNG : bloc tronqué", "fichier")
        length, kind = struct.unpack_from(">I4s", content, position)
        end = position + 12 + length
        if end > len(content):
            raise DocumentRefused("Ce n'est pas un PNG : bloc tronqué", "fichier")
        body = content[position + 8:position + 8 + length]
        if zlib.crc32(kind + body) != struct.unpack_from(">I", content, end - 4)[0]:
            raise DocumentRefused("PNG : somme de contrôle d'un bloc fausse", "fichier")
        if first:
            if kind != b"IHDR" or length != 13:
                raise DocumentRefused("PNG : le premier bloc n'est pas IHDR", "fichier")
            _check_pixels(*struct.unpack_from(">II", body))
            first = False
        position = end
        if kind == b"IEND":
            break
    if position != len(content):
        raise DocumentRefused("Données après la fin de l'image PNG (fichier polyglotte) : refusé", "fichier")


def _check_pixels(width: int, height: int) -> None:
    if width == 0 or height == 0 or width * height > MAX_PIXELS:
        raise DocumentRefused(f"Dimensions d'image refusées ({width} × {height})", "fichier")
