"""Applications as table rows and as JSON snapshots, both ways.

The row is what the ``applications`` table holds; the snapshot is the same columns made JSON (ISO
dates) plus the form document, which is how an application travels in the outbox to dispatching.
The index rows are what the side tables hold for it (people, wished communes, terms), each with a
copy of its search columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from core.domain.application import Application, Cancellation, Renewal
from core.domain.codes import ApplicationState
from core.domain.form import ApplicationForm
from core.domain.identity import PersonKey
from core.domain.indicators import stored_flags
from core.domain.numbers import RegistrationNumber
from core.domain.search import index_terms

from .serialization import from_document, json_text, to_document


def json_rows(rows: list[dict[str, Any]]) -> str:
    """Rows as a JSON array, dates in ISO form (PostgreSQL statements take them as one parameter)."""
    return json_text(rows)


# Kept by the documents' use cases only (Applications.record_documents): a change of the application
# itself never writes them, so that it cannot put back what it loaded before a document changed.
DOCUMENT_COLUMNS = ("documents_changed_on",)


def application_columns(application: Application) -> dict[str, Any]:
    cancellation = application.cancellation
    communes = application.form.wished_communes
    return {
        "number": str(application.number),
        "territory_code": application.territory,
        "state": application.state.value,
        "version": application.version,
        "filing_date": application.filing_date,
        "registered_at": application.registered_at,
        "registered_by": application.registered_by,
        "last_changed_at": application.last_changed_at,
        "last_changed_by": application.last_changed_by,
        "next_due": application.renewal.next_due,
        "last_renewed_on": application.renewal.last_renewed_on,
        "notice_sent_on": application.renewal.notice_sent_on,
        "second_notice_sent_on": application.renewal.second_notice_sent_on,
        "notice_requested_on": application.renewal.notice_requested_on,
        "second_notice_requested_on": application.renewal.second_notice_requested_on,
        "cancelled_on": cancellation.date if cancellation else None,
        "cancellation_motive": cancellation.motive if cancellation else None,
        "allocation_commune": cancellation.allocation_commune if cancellation else None,
        "associated_number": str(application.associated_number) if application.associated_number else None,
        "first_wished_commune": communes[0] if communes else None,
        "online": application.online,
        "dalo_active_since": application.dalo_active_since,
        **_indicator_columns(application),
        "documents_changed_on": application.documents_changed_on,
        "cancellation": to_document(cancellation) if cancellation else None,
    }


def _indicator_columns(application: Application) -> dict[str, bool | None]:
    """The register's flags as columns, so that the daily job finds what to recompute without
    reading forms (NULL: never computed)."""
    flags = stored_flags(application.form.processing)
    long_wait, conditional = flags if flags is not None else (None, None)
    return {"long_wait": long_wait, "conditional_allocation": conditional}


SEARCH_COLUMNS = ("territory_code", "state", "first_wished_commune", "filing_date", "number")


def search_columns(columns: dict[str, Any]) -> dict[str, Any]:
    """What a side table copies of the application's columns: its territory, state and place in the
    SNE's order (``core.adapters.orm.search_columns``)."""
    return {name: columns[name] for name in SEARCH_COLUMNS}


def people_rows(form: ApplicationForm) -> list[dict[str, Any]]:
    """``application_people`` rows (without the application's id and search columns): one per adult
    with a comparable identity and per surname (usual, birth)."""
    return [
        {"role": role, "surname_key": surname, "first_name_key": key.first_name, "birth_date": key.birth_date}
        for role, key in person_keys(form)
        for surname in sorted(key.surnames)
    ]


def person_keys(form: ApplicationForm) -> list[tuple[str, PersonKey]]:
    """The adults' comparable identities, with their role."""
    found = []
    for index, person in enumerate(form.people):
        key = PersonKey.of(person.surname, person.birth_name, person.first_name, person.birth_date)
        if key is not None:
            found.append(("applicant" if index == 0 else "co_applicant", key))
    return found


def commune_rows(form: ApplicationForm) -> list[dict[str, Any]]:
    """``application_communes`` rows (without the application's id and search columns)."""
    return [{"rank": rank, "commune": commune} for rank, commune in enumerate(form.wished_communes)]


def term_rows(form: ApplicationForm) -> list[dict[str, Any]]:
    """``application_terms`` rows (without the application's id and search columns)."""
    return [{"kind": kind, "value": value} for kind, value in index_terms(form)]


@dataclass(frozen=True)
class StoredForm:
    """What storing ``form`` takes that the form alone decides: its JSON document, that document
    as the text the ``form`` column stores (encoded as SQLAlchemy's JSON type would, but outside
    the SQLite writers' turn) and the side tables' rows, by table (built before a registration's
    transaction opens)."""

    form: ApplicationForm
    document: dict[str, Any]
    text: str
    index: dict[str, list[dict[str, Any]]]


def stored_form(form: ApplicationForm) -> StoredForm:
    document = to_document(form)
    return StoredForm(form, document, json_text(document), {"application_people": people_rows(form),
                                                             "application_communes": commune_rows(form),
                                                             "application_terms": term_rows(form)})


_DATE_COLUMNS = ("filing_date", "next_due", "last_renewed_on", "notice_sent_on", "second_notice_sent_on",
                 "notice_requested_on", "second_notice_requested_on", "cancelled_on", "documents_changed_on")
_INSTANT_COLUMNS = ("registered_at", "last_changed_at", "dalo_active_since")


def application_snapshot(application: Application, form: dict[str, Any] | None = None) -> dict[str, Any]:
    """The application as a JSON document (its row's columns and its form), for the outbox."""
    columns = application_columns(application)
    document = {name: value.isoformat() if isinstance(value, (date, datetime)) else value
                for name, value in columns.items()}
    document["form"] = form if form is not None else to_document(application.form)
    return document


def application_from_snapshot(document: dict[str, Any]) -> Application:
    row = dict(document)
    for name in _DATE_COLUMNS:
        row[name] = date.fromisoformat(row[name]) if row.get(name) else None
    for name in _INSTANT_COLUMNS:
        row[name] = datetime.fromisoformat(row[name]) if row.get(name) else None
    return application_of_row(row)


def application_of_row(row: Any) -> Application:
    return Application(
        number=RegistrationNumber.parse(row["number"]),
        territory=row["territory_code"],
        filing_date=row["filing_date"],
        registered_at=row["registered_at"],
        registered_by=row["registered_by"],
        last_changed_at=row["last_changed_at"],
        last_changed_by=row["last_changed_by"],
        form=from_document(ApplicationForm, row["form"]),
        renewal=Renewal(
            next_due=row["next_due"],
            last_renewed_on=row["last_renewed_on"],
            notice_sent_on=row["notice_sent_on"],
            second_notice_sent_on=row["second_notice_sent_on"],
            notice_requested_on=row["notice_requested_on"],
            second_notice_requested_on=row["second_notice_requested_on"],
        ),
        version=row["version"],
        state=ApplicationState(row["state"]),
        associated_number=RegistrationNumber.parse(row["associated_number"]) if row["associated_number"] else None,
        cancellation=from_document(Cancellation, row["cancellation"]) if row["cancellation"] else None,
        online=row["online"],
        dalo_active_since=row["dalo_active_since"],
        documents_changed_on=row.get("documents_changed_on"),  # absent from snapshots made before 0010
    )


