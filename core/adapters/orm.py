"""The relational schema, in SQLAlchemy Core. Alembic migrations create it; tests compare the two.

An application is one row: the register's own fields as columns (what counters search and sort
on), the household's form as a JSON document. Three side tables index the form for the searches
that matter: the adults' comparable identities (duplicates, searches by person), the wished
communes in order, and the terms of the criteria that look into the form (request motives, the
register's indicators, an association's name: ``core.domain.search.index_terms``).

Every search index ends with the SNE's order (first wished commune, filing date, number), after the
territory, the state and the criterion it serves, so that a search reads one index range in the
order it answers in and stops at the page's end. A filing window cuts across that order: each
criterion also has a "filing order" index, its window as one range, which the planner sorts when
the window holds few matches. The side tables carry copies of those columns
(:func:`search_columns`) for the same reason: a search by person, commune or term reads that table's
index alone, without visiting the applications (docs/REGISTER.md, "Search").

The side tables name their application's row (``application_id``) without a foreign key: only the
applications' repository writes them, in the transaction that writes the application, and its
purge erases them with it. A key would check every index row as it is inserted, about a dozen per
registration, for a guarantee the code already keeps (migration 0015).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from core.domain.calendar import PARIS

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Document = JSON().with_variant(JSONB(), "postgresql")
Identifier = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only


class Instant(TypeDecorator):
    """A moment in time: stored in UTC, read back in Paris time, where the register's days are counted."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: the register counts days in Paris time")
        utc = value.astimezone(timezone.utc)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(PARIS)


territories = Table(
    "territories",
    metadata,
    Column("code", String(3), primary_key=True),
    Column("name", String(100), nullable=False),
)

territory_areas = Table(
    "territory_areas",
    metadata,
    Column("kind", String(12), primary_key=True),  # "departement" or "commune"
    Column("area", String(5), primary_key=True),
    Column("territory_code", ForeignKey("territories.code"), nullable=False, index=True),
)

counter_certificates = Table(
    "counter_certificates",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("counter_code", ForeignKey("counters.code"), nullable=False, index=True),
    Column("subject", String(500), nullable=False),
    Column("not_before", Instant, nullable=False),
    Column("not_after", Instant, nullable=False),
    Column("revoked_at", Instant),
    Column("certificate", LargeBinary),  # DER; what dispatching encrypts mail to (None: registered before 0005)
)

# SQLite counts registration numbers in last_value; PostgreSQL in a native sequence per territory
# (core.adapters.repository.NativeSequences), this row recording its starting point.
number_sequences = Table(
    "number_sequences",
    metadata,
    Column("territory_code", ForeignKey("territories.code"), primary_key=True),
    Column("last_value", Integer, nullable=False),
)

counters = Table(
    "counters",
    metadata,
    Column("code", String(5), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("type", String(20), nullable=False),
    Column("territory_code", ForeignKey("territories.code"), nullable=False, index=True),
    Column("mailbox", String(255)),
    Column("endpoint", String(500)),
    Column("active", Boolean, nullable=False),
)

SEARCH_ORDER = ("first_wished_commune", "filing_date", "number")  # the SNE's order of search results


def search_columns() -> list[Column]:
    """An application's territory, state and place in the SNE's order, as copied into a side table
    (``core.adapters.rows.search_columns``): the same values as the application's own columns."""
    return [
        Column("territory_code", String(3), nullable=False),
        Column("state", String(10), nullable=False),
        Column("first_wished_commune", String(5)),
        Column("filing_date", Date, nullable=False),
        Column("number", String(18), nullable=False),
    ]


applications = Table(
    "applications",
    metadata,
    Column("id", Identifier, primary_key=True, autoincrement=True),
    Column("number", String(18), nullable=False, unique=True),
    Column("territory_code", ForeignKey("territories.code"), nullable=False),
    Column("state", String(10), nullable=False),
    Column("version", Integer, nullable=False),
    Column("filing_date", Date, nullable=False),
    Column("registered_at", Instant, nullable=False),
    Column("registered_by", String(10), nullable=False),
    Column("last_changed_at", Instant, nullable=False),
    Column("last_changed_by", String(10), nullable=False),
    Column("next_due", Date, nullable=False),
    Column("last_renewed_on", Date),
    Column("notice_sent_on", Date),  # when a channel took the notice, not when it was requested
    Column("second_notice_sent_on", Date),
    Column("notice_requested_on", Date),
    Column("second_notice_requested_on", Date),
    Column("cancelled_on", Date),
    Column("cancellation_motive", String(6)),
    Column("allocation_commune", String(5)),
    Column("associated_number", String(18)),
    Column("first_wished_commune", String(5)),
    Column("online", Boolean, nullable=False),
    Column("dalo_active_since", Instant, index=True),
    Column("long_wait", Boolean),  # the register's indicators (informationTraitement); NULL: never computed
    Column("conditional_allocation", Boolean),
    Column("documents_changed_on", Date),  # dateDerniereModificationPiece, kept by the documents' use cases
    Column("form", Document, nullable=False),
    Column("cancellation", Document),
    Index(None, "state", "next_due"),
    Index("ix_applications_retention", "state", "cancelled_on"),
    Index("ix_applications_search_order", "territory_code", "state", *SEARCH_ORDER),
    # A date window is read as a range of dates, then sorted (the planner's choice for narrow windows;
    # wide ones are read in order from ix_applications_search_order, filtering on the way).
    Index("ix_applications_filing_order", "territory_code", "state", "filing_date", "first_wished_commune", "number"),
    Index("ix_applications_renewal_order", "territory_code", "state", "last_renewed_on", *SEARCH_ORDER),
    Index("ix_applications_cancellation_order", "territory_code", "state", "cancelled_on", *SEARCH_ORDER),
    Index("ix_applications_cancellation_motive_order", "territory_code", "state", "cancellation_motive",
          *SEARCH_ORDER),
    Index("ix_applications_allocation_order", "territory_code", "state", "allocation_commune", *SEARCH_ORDER),
)

application_people = Table(
    "application_people",
    metadata,
    Column("id", Identifier, primary_key=True, autoincrement=True),
    Column("application_id", Identifier, nullable=False, index=True),  # no foreign key (see the docstring)
    Column("role", String(12), nullable=False),
    Column("surname_key", String(80), nullable=False),
    Column("first_name_key", String(80), nullable=False),
    Column("birth_date", Date, nullable=False),
    *search_columns(),
    # The identity check of every registration (core.adapters.registration.IDENTITIES): equality on
    # all five columns, so that SQLite, without statistics, prefers it to a name index (migration 0012).
    Index("ix_application_people_identity", "birth_date", "first_name_key", "surname_key", "territory_code", "state"),
    # A surname alone (thousands of Martins) in the SNE's order; a first name is checked in the index.
    Index("ix_application_people_surname_order", "surname_key", "territory_code", "state", *SEARCH_ORDER,
          "first_name_key"),
    Index("ix_application_people_first_name_order", "first_name_key", "territory_code", "state", *SEARCH_ORDER),
)

application_communes = Table(
    "application_communes",
    metadata,
    Column("application_id", Identifier, primary_key=True),
    Column("rank", Integer, primary_key=True),
    Column("commune", String(5), nullable=False),
    *search_columns(),
    Index("ix_application_communes_search_order", "commune", "territory_code", "state", *SEARCH_ORDER),
    Index("ix_application_communes_filing_order", "commune", "territory_code", "state", "filing_date",
          "first_wished_commune", "number"),
)

# What the criteria that look into the form are answered from (core.domain.search.index_terms):
# (motive, 13), (indicator, abnormally_long_wait), (association, <name key>).
application_terms = Table(
    "application_terms",
    metadata,
    Column("application_id", Identifier, primary_key=True),
    Column("kind", String(12), primary_key=True),
    Column("value", String(80), primary_key=True),
    *search_columns(),
    Index("ix_application_terms_search_order", "kind", "value", "territory_code", "state", *SEARCH_ORDER),
    Index("ix_application_terms_filing_order", "kind", "value", "territory_code", "state", "filing_date",
          "first_wished_commune", "number"),
)

prefect_delays = Table(
    "prefect_delays",
    metadata,
    Column("departement", String(3), primary_key=True),
    Column("months", Integer, nullable=False),  # from the filing date (docs/REGISTER.md, "Indicators…")
    Column("set_at", Instant, nullable=False),
)

journal = Table(
    "journal",
    metadata,
    Column("id", Identifier, primary_key=True, autoincrement=True),
    Column("at", Instant, nullable=False),
    Column("actor", String(10), nullable=False),
    Column("number", String(18), nullable=False, index=True),
    Column("kind", String(60), nullable=False),
    Column("details", Document, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Identifier, primary_key=True, autoincrement=True),
    Column("created_at", Instant, nullable=False),
    Column("topic", String(60), nullable=False),
    Column("number", String(18), nullable=False),
    Column("payload", Document, nullable=False),
    Column("delivered_at", Instant),
    Index(None, "delivered_at", "topic", "id"),
)


# -- the signed mail channel (async_mail): messages received, replies to send ------------------------
# Kept with the register's schema so that one migration history covers the deployment.

mail_messages = Table(
    "mail_messages",
    metadata,
    Column("id", Identifier, primary_key=True, autoincrement=True),
    Column("received_at", Instant, nullable=False, index=True),  # the retention's order (MailStore.purge)
    Column("message_id", String(998)),
    Column("sender", String(320)),  # the envelope's MAIL FROM, as the SMTP session gave it
    Column("raw", LargeBinary, nullable=False),
    Column("status", String(12), nullable=False, index=True),  # received, processed, quarantined, released
    Column("digest", String(64), index=True),  # SHA-256 of the signed content, once verified
    Column("counter_code", String(5)),
    Column("reason_code", String(20)),
    Column("reason", String(1000)),
    Column("reply_id", BigInteger().with_variant(Integer(), "sqlite")),
    Column("processed_at", Instant),
    Column("owner", String(32)),  # the serve process processing it ("processing"), until lease_until
    Column("lease_until", Instant),
    Index(None, "message_id"),
)

mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", Identifier, primary_key=True, autoincrement=True),
    Column("created_at", Instant, nullable=False, index=True),  # the retention's order (MailStore.purge)
    Column("recipient", String(320), nullable=False),
    Column("message_id", String(998), nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("status", String(8), nullable=False),  # queued, sent, dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Instant, nullable=False),
    Column("last_error", String(1000)),
    Column("sent_at", Instant),
    Index(None, "status", "next_attempt_at"),
)


# -- dispatching: subscriptions, the changes fanned out to them, and each stream's items ---------------

epcis = Table(
    "epcis",
    metadata,
    Column("code", String(9), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("territory_code", ForeignKey("territories.code"), nullable=False, index=True),
)

epci_communes = Table(
    "epci_communes",
    metadata,
    Column("epci_code", ForeignKey("epcis.code", ondelete="CASCADE"), primary_key=True),
    Column("commune", String(5), primary_key=True),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Identifier, primary_key=True, autoincrement=True),
    Column("counter_code", ForeignKey("counters.code"), nullable=False, index=True),
    Column("channel", String(12), nullable=False),
    Column("filter", Document, nullable=False),
    Column("mtom", Boolean, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("last_sequence", BigInteger, nullable=False),  # the stream's last allocated sequence number
    Column("disabled_at", Instant),
    Column("disabled_reason", String(500)),
    Column("failing_since", Instant),
    Column("last_success_at", Instant),
    Column("last_attempt_at", Instant),
    Column("last_error", String(1000)),
    Column("attempts", Integer, nullable=False),  # failed attempts of the batch at the head of the stream
    Column("next_attempt_at", Instant),
    Column("daily_sent_on", Date),
    Column("leased_until", Instant),  # a worker is sending this stream until then
    Column("lease_owner", String(40)),
)

# One row per change of an application (the outbox message it came from gives its id).
dispatch_changes = Table(
    "dispatch_changes",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("number", String(18), nullable=False, index=True),
    Column("territory_code", String(3), nullable=False),
    Column("kind", String(4), nullable=False),
    Column("version", Integer, nullable=False),
    Column("actor", String(10), nullable=False),
    Column("at", Instant, nullable=False),
    Column("before", Document),  # dispatch profiles (what filters read), before and after the change
    Column("after", Document, nullable=False),
    Column("file", LargeBinary),  # the DIS file, zlib-compressed, numGuichet to fill in; none for SUP
    Index(None, "territory_code", "at"),
)

dispatch_items = Table(
    "dispatch_items",
    metadata,
    Column("id", Identifier, primary_key=True, autoincrement=True),
    Column("subscription_id", ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("change_id", ForeignKey("dispatch_changes.id"), nullable=False, index=True),
    Column("status", String(10), nullable=False),
    Column("batch", String(40), index=True),  # the delivery (idLivraison) it belongs to, once attempted
    Column("created_at", Instant, nullable=False),
    Column("delivered_at", Instant),
    Column("error", String(1000)),
    UniqueConstraint("subscription_id", "sequence"),
    Index(None, "subscription_id", "status", "sequence"),
)


# -- renewal notices to applicants: the notice, each channel's attempt, the daily letter batches --------

notices = Table(
    "notices",
    metadata,
    Column("id", Identifier, primary_key=True, autoincrement=True),
    Column("outbox_id", BigInteger, nullable=False, unique=True),
    Column("number", String(18), nullable=False, index=True),
    Column("territory_code", String(3), nullable=False),
    Column("second", Boolean, nullable=False),
    Column("due", Date, nullable=False),
    Column("requested_at", Instant, nullable=False),
    Column("recipient", Document),  # personal data: erased once the notice has left
    Column("status", String(8), nullable=False, index=True),  # pending, sent, failed
    Column("sent_at", Instant),
    Column("sent_channel", String(20)),
)

notice_sends = Table(
    "notice_sends",
    metadata,
    Column("id", Identifier, primary_key=True, autoincrement=True),
    Column("notice_id", ForeignKey("notices.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("channel", String(20), nullable=False),  # email, sms, letter, registered_letter
    Column("status", String(10), nullable=False),  # queued, sent, failed, cancelled
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Instant, nullable=False),
    Column("leased_until", Instant),
    Column("last_error", String(1000)),
    Column("sent_at", Instant),
    Column("reference", String(200)),  # the relay's or provider's message id, the letter batch
    Index(None, "channel", "status", "next_attempt_at"),
)

letter_batches = Table(
    "letter_batches",
    metadata,
    Column("id", Identifier, primary_key=True, autoincrement=True),
    Column("territory_code", String(3), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("day", Date, nullable=False),
    Column("closed_at", Instant, nullable=False),
    Column("letters", Integer, nullable=False),
    Column("pdf", LargeBinary, nullable=False),
    Column("exported_at", Instant),
    Column("export_path", String(500)),
)


# -- shared management (gestion partagée): a territory's own event types, the applications' events --
# The decree's national types are core constants (core.domain.shared_management.NATIONAL_TYPES).

event_types = Table(
    "event_types",
    metadata,
    Column("territory_code", ForeignKey("territories.code"), primary_key=True),
    Column("code", String(10), primary_key=True),
    Column("label", String(100), nullable=False),
    Column("description_sne", String(500), nullable=False),
    Column("description_pgp", String(500), nullable=False),
    Column("published", Boolean, nullable=False),
    Column("usable_conditional", Boolean, nullable=False),
    Column("usable_search", Boolean, nullable=False),
    Column("valid_from", Date),
    Column("valid_until", Date),
    Column("features", Document, nullable=False),  # [{code, label, value_type, required, description, choices}]
    Column("created_at", Instant, nullable=False),
    Column("created_by", String(10), nullable=False),
)

shared_events = Table(
    "shared_events",
    metadata,
    Column("id", Identifier, primary_key=True, autoincrement=True),
    Column("number", String(18), nullable=False),
    Column("territory_code", String(3), nullable=False),
    Column("type_code", String(10), nullable=False),
    Column("occurred_on", Date, nullable=False),
    Column("comment", String(500)),
    Column("feature_values", Document, nullable=False),  # [[code, value], …]
    Column("created_at", Instant, nullable=False),
    Column("created_by", String(10), nullable=False),
    Column("changed_at", Instant),
    Column("changed_by", String(10)),
    Index(None, "number", "id"),
)


# -- supporting documents: their descriptions and journal (bytes are in the document store) --------

documents = Table(
    "documents",
    metadata,
    Column("id", String(32), primary_key=True),  # random: the wire's idPiece
    Column("number", String(18), nullable=False),
    Column("territory_code", String(3), nullable=False),
    Column("category", String(6), nullable=False),
    Column("type", String(6), nullable=False),
    Column("relevance", String(2), nullable=False),
    Column("valid_until", Date),
    Column("label", String(100), nullable=False),  # the client's file name, shown only
    Column("media_type", String(20), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("storage_key", String(32), nullable=False, unique=True),  # random, never from the client
    Column("state", String(10), nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("created_by", String(10), nullable=False),
    Column("changed_at", Instant, nullable=False),
    Column("changed_by", String(10), nullable=False),
    Column("last_event", String(3), nullable=False),
    Column("quarantined_at", Instant),
    Index(None, "number", "state", "type"),
)

document_journal = Table(
    "document_journal",
    metadata,
    Column("id", Identifier, primary_key=True, autoincrement=True),
    Column("document_id", String(32), nullable=False),
    Column("number", String(18), nullable=False),
    Column("territory_code", String(3), nullable=False),
    Column("category", String(6), nullable=False),
    Column("type", String(6), nullable=False),
    Column("event", String(3), nullable=False),
    Column("at", Instant, nullable=False),
    Column("actor", String(10), nullable=False),
    Column("description", String(500), nullable=False),
    Column("sha256", String(64)),
    Index(None, "number", "at"),
)

document_profiles = Table(
    "document_profiles",
    metadata,
    Column("counter_code", ForeignKey("counters.code"), primary_key=True),
    Column("profile", String(20), nullable=False),
)
