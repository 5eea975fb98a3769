"""The registration or renewal attestation, as a one-page PDF.

The attestation is what certifies a household's seniority; counters hand it over or print it. We
write the PDF ourselves (one page, Helvetica, WinAnsi encoding for French accents): it needs no
library and stays byte-for-byte reproducible for a given application and day.
"""

from __future__ import annotations

from datetime import date

from core.domain.application import Application


def attestation_pdf(application: Application, renewal: bool, issued_on: date) -> bytes:
    title = "Attestation de renouvellement" if renewal else "Attestation d'enregistrement"
    holder = _holder(application)
    lines = [
        (16, title),
        (12, "de demande de logement social"),
        (11, ""),
        (11, f"Numéro unique : {application.number.display()}"),
        (11, f"Demandeur : {holder}"),
        (11, f"Date de dépôt (ancienneté) : {application.filing_date:%d/%m/%Y}"),
        (11, f"Enregistrée par le guichet : {application.registered_by}"),
    ]
    if application.renewal.last_renewed_on:
        lines.append((11, f"Dernier renouvellement : {application.renewal.last_renewed_on:%d/%m/%Y}"))
    lines += [
        (11, f"À renouveler avant le : {application.renewal.next_due:%d/%m/%Y}"),
        (11, f"Communes souhaitées : {', '.join(application.form.wished_communes)}"),
        (11, ""),
        (9, "Ce numéro est valable sur tout le territoire. Conservez cette attestation : elle est demandée"),
        (9, "pour toute démarche concernant votre demande."),
        (9, f"Délivrée le {issued_on:%d/%m/%Y}."),
    ]
    return _pdf(lines)


def _holder(application: Application) -> str:
    form = application.form
    if form.association is not None:
        return form.association.name or ""
    applicant = form.household.applicant
    return " ".join(part for part in (applicant.first_name, applicant.surname) if part)


def _pdf(lines: list[tuple[int, str]]) -> bytes:
    text = ["BT", "72 770 Td"]
    for size, line in lines:
        text.append(f"/F1 {size} Tf")
        text.append(f"({_escape(line)}) Tj")
        text.append(f"0 -{size + 8} Td")
    text.append("ET")
    stream = "\n".join(text).encode("cp1252", errors="replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
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


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
