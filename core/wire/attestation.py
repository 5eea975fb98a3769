"""The registration or renewal attestation, as a one-page PDF.

The attestation is what certifies a household's seniority; counters hand it over or print it. One
page written by :mod:`core.wire.pdf`, byte-for-byte reproducible for a given application and day.
"""

from __future__ import annotations

from datetime import date

from core.domain.application import Application

from .pdf import document


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
    return document([lines])


def _holder(application: Application) -> str:
    form = application.form
    if form.association is not None:
        return form.association.name or ""
    applicant = form.household.applicant
    return " ".join(part for part in (applicant.first_name, applicant.surname) if part)
