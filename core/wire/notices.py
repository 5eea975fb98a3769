"""The words of renewal notices: the email, and the letters printed in daily PDF batches.

The SMS keeps the regulation's own text (:data:`core.domain.renewal.SMS_TEXT`, carried by each
notice). Letters go out in one PDF per territory and kind of letter per day, one page per letter,
the applicant's name and postal address at the top.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .pdf import Page, document

SUBJECT = "Renouvellement de votre demande de logement social"
SITE = "www.demande-logement-social.gouv.fr"


def email(recipient: dict[str, Any], due: date, second: bool) -> tuple[str, str]:
    """(subject, text) of a notice by email."""
    subject = f"Rappel : {SUBJECT.lower()}" if second else SUBJECT
    return subject, "\r\n".join(_body(recipient, due, second)) + "\r\n"


def letters_pdf(letters: list[tuple[dict[str, Any], date, bool]], day: date, registered: bool) -> bytes:
    """One page per letter: (recipient, due date, second notice) each."""
    return document([_letter(recipient, due, second, day, registered) for recipient, due, second in letters])


def _letter(recipient: dict[str, Any], due: date, second: bool, day: date, registered: bool) -> Page:
    mention = "Lettre recommandée avec accusé de réception" if registered else ""
    address = [recipient.get("name") or "", *recipient.get("address", [])]
    page: Page = [(10, "")] * 4 + [(11, line) for line in address] + [(11, "")] * (7 - len(address))
    page += [(10, f"Le {day:%d/%m/%Y}"), (10, mention), (11, ""), (11, f"Objet : {SUBJECT.lower()}"), (11, "")]
    page += [(11, line) for line in _body(recipient, due, second)]
    return page


def _body(recipient: dict[str, Any], due: date, second: bool) -> list[str]:
    number = recipient.get("display_number") or ""
    lines = [
        "Madame, Monsieur,",
        "",
        f"Votre demande de logement social n° {number} doit être renouvelée avant le {due:%d/%m/%Y}.",
        "Sans renouvellement, elle sera radiée un mois après cette date et perdra son ancienneté.",
        f"Renouvelez-la sur {SITE} ou à votre guichet habituel.",
    ]
    if second:
        lines.insert(2, "Nous vous avons déjà écrit à ce sujet, sans réponse de votre part.")
    return lines + ["", "Le service du système national d'enregistrement"]
