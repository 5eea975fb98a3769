"""An interface file in, the register's answer out: what both channels do with every file.

The bytes are parsed safely and validated against our XSD before anything else; a file that fails
is refused as a whole (:class:`FileRefused`, which the channels turn into a SOAP fault or a mail
error) because no valid answer file can be built from it. A valid file goes to the use case its
``typeFichier`` names; the register's refusals come back inside the answer, the SNE's way, as
``listeAnomalie`` (and ``listeDoublons`` for probable duplicates) in a ``RET`` file. A file with a
list over its bound (the codec reads 30 items at most) is refused that way too, with that one
anomaly, before anything else is judged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Callable

from lxml import etree

from core.domain.application import Application
from core.domain.codes import ApplicationState, FileType
from core.domain.errors import (
    ApplicationNotFound,
    DuplicateSuspected,
    ForeignCertificate,
    ForeignCounterFile,
    InvalidContent,
    InvalidNumber,
    RegisterError,
    UnsupportedFile,
)
from core.domain.numbers import RegistrationNumber
from core.domain.vocabulary import RegistryNames
from core.service_layer import services
from core.service_layer.unit_of_work import UnitOfWork

from . import schemas
from .attestation import attestation_pdf
from .codec import NS, VERSIONS, InterfaceFile, read_file, write_duplicates, write_file
from .xml import UnsafeXml, parse

UnitOfWorkFactory = Callable[..., UnitOfWork]

FILE_INVALID = "FICHIER-XSD"
FILE_UNKNOWN = "FICHIER-INCONNU"
FILE_VERSION = "FICHIER-VERSION"
ACCEPTED = {FileType.CREATION, FileType.CREATION_AFTER_SEPARATION, FileType.MODIFICATION, FileType.RENEWAL,
            FileType.CANCELLATION, FileType.DELETION}


class FileRefused(Exception):
    """The bytes are not an SNE file we can answer: unsafe, unknown, or invalid against the XSD."""

    def __init__(self, code: str, message: str, details: list[str] = ()):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = list(details)


@dataclass(frozen=True)
class Answer:
    file: bytes
    attestation: bytes | None = None


def read_application_file(data: bytes) -> InterfaceFile:
    """Parse and validate a file of the InterfaceNuu schema, in the version it declares, and read it."""
    root = valid_application_file(data)
    try:
        return read_file(root)
    except (ValueError, OverflowError):  # valid for the XSD, out of any calendar: years 12026, -1980…
        raise FileRefused(FILE_INVALID, "Une date ou un nombre du fichier sort des bornes prises en charge") from None


def valid_application_file(data: bytes) -> etree._Element:
    """The file's root element, parsed safely and valid against the InterfaceNuu schema of the version
    it declares; not yet read into the model (what bench/soap.py's baseline stops at)."""
    try:
        root = parse(data)
    except UnsafeXml as error:
        raise FileRefused(error.code, error.message) from None
    if root.tag != f"{{{NS}}}interfaceNuu":
        raise FileRefused(FILE_UNKNOWN, f"Élément racine inattendu : {etree.QName(root).localname}")
    version = root.get("versionInterface")
    if version not in VERSIONS:
        raise FileRefused(FILE_VERSION, f"Version d'interface non prise en charge : {version} (02.00 ou 02.01)")
    problems = schemas.errors(schemas.load(schemas.APPLICATION_FILES[version]), root)
    if problems:
        raise FileRefused(FILE_INVALID, "Le fichier n'est pas conforme au schéma InterfaceNuu " + version, problems)
    return root


def check_read_whole(file: InterfaceFile) -> None:
    """A file with a list over its bound was not read whole: it is refused with that one anomaly,
    before anything judges it (its echo carries each list cut to its bound)."""
    if file.over_bound is not None:
        raise InvalidContent([file.over_bound])


@dataclass(frozen=True)
class AttachedCertificate:
    """What a channel made of the certificate attached to a message (``certificat``): the counter it
    authenticates, or why it authenticates none (unreadable: NUU187; unknown, expired or revoked:
    NUU185), so that the refusal says which."""

    owner: str | None = None
    refusal: RegisterError | None = None


def check_attached(counter_code: str, attached: AttachedCertificate | None) -> None:
    """A certificate attached to a message must be readable, valid and one of the sending counter's own."""
    if attached is None:
        return
    if attached.refusal is not None:
        raise attached.refusal
    if attached.owner != counter_code:  # whose it is is not said: the sender has no business knowing
        raise ForeignCertificate(property="certificat")


def process(unit_of_work: UnitOfWorkFactory, counter_code: str, data: bytes, now: datetime,
            attached: AttachedCertificate | None = None) -> Answer:
    """getNumUnique: create, change, renew, cancel or delete, as ``typeFichier`` says.

    ``counter_code`` is the counter the channel authenticated; ``attached`` the certificate attached
    to the message, None when none is.
    """
    file = read_application_file(data)
    try:
        check_read_whole(file)
        check_attached(counter_code, attached)
        if file.counter != counter_code:
            raise ForeignCounterFile(
                f"Le fichier est au nom du guichet {file.counter}, le message vient de {counter_code}",
                RegistryNames.COUNTER)
        application, attest = _apply(unit_of_work, file, counter_code, now)
    except RegisterError as refusal:
        return Answer(_refusal(unit_of_work, file, refusal, counter_code, now))
    if application.state is ApplicationState.DELETED:  # nothing left to describe: the file comes back
        return Answer(write_file(replace(file, file_type=FileType.ANSWER.value, file_date=now,
                                         increment=str(application.version))))
    attestation = attestation_pdf(application, renewal=attest == "renewal", issued_on=now.date()) if attest else None
    return Answer(answer_file(application, file.version, now, counter_code), attestation)


def _apply(unit_of_work: UnitOfWorkFactory, file: InterfaceFile, counter: str,
           now: datetime) -> tuple[Application, str | None]:
    kind = file.file_type
    if kind not in ACCEPTED:
        raise UnsupportedFile(f"Type de fichier {kind!r} non accepté ici : CRE, CRS, MOD, REN, RAD ou SUP",
                              "typeFichier")
    force = bool(file.force_duplicate)
    if kind == FileType.CREATION:
        return services.register(unit_of_work(), file.form, file.filing_date, counter, now,
                                 force_duplicate=force), "registration"
    if kind == FileType.CREATION_AFTER_SEPARATION:
        original = _number(file.associated_number, RegistryNames.ASSOCIATED_NUMBER)
        return services.register(unit_of_work(), file.form, file.filing_date, counter, now, force_duplicate=force,
                                 associated_number=original), "registration"
    number = _number(file.number, RegistryNames.NUMBER)
    if kind == FileType.MODIFICATION:
        return services.update(unit_of_work(), number, file.form, counter, now, force_duplicate=force), None
    if kind == FileType.RENEWAL:
        return services.renew(unit_of_work(), number, counter, now, renewed_on=file.renewal_date,
                              form=file.form), "renewal"
    if kind == FileType.CANCELLATION:
        if file.cancellation is None:
            raise UnsupportedFile("Un fichier RAD porte le bloc radiation", RegistryNames.CANCELLATION)
        if not file.cancellation.motive:  # no motive: the SNE's "déradiation"
            return services.reactivate(unit_of_work(), number, counter, now), None
        return services.cancel(unit_of_work(), number, file.cancellation, counter, now), None
    return services.delete(unit_of_work(), number, counter, now), None


def _number(text: str | None, property: str) -> RegistrationNumber:
    if not text:
        raise InvalidNumber("Numéro unique obligatoire pour ce type de fichier", property)
    try:
        return RegistrationNumber.parse(text)
    except InvalidNumber as error:
        raise InvalidNumber(error.message, property) from None


def _refusal(unit_of_work: UnitOfWorkFactory, file: InterfaceFile, refusal: RegisterError, counter: str,
             now: datetime) -> bytes:
    """The file as received, typed RET, with the anomalies (and probable duplicates)."""
    duplicates = []
    if isinstance(refusal, DuplicateSuspected):
        duplicates = [_readable(unit_of_work, number, counter) for number in refusal.numbers]
    answer = replace(file, file_type=FileType.ANSWER.value, file_date=now, anomalies=refusal.anomalies,
                     duplicates=[d for d in duplicates if d is not None])
    return write_file(answer)


def _readable(unit_of_work: UnitOfWorkFactory, number: str, counter: str) -> Application | None:
    try:
        return services.get(unit_of_work(readonly=True), RegistrationNumber.parse(number), counter)
    except RegisterError:
        return None


def answer_file(application: Application, version: str, now: datetime, counter_code: str) -> bytes:
    """The application as the register holds it, in a RET file addressed to ``counter_code``."""
    return write_file(InterfaceFile.of(application, version=version, file_type=FileType.ANSWER.value,
                                       file_date=now, counter=counter_code))


def application_answer(unit_of_work: UnitOfWorkFactory, counter_code: str, number: str, now: datetime) -> bytes:
    """getDemandeLogement: the application in a RET file; refusals are raised (a read has no file)."""
    application = services.get(unit_of_work(readonly=True), _number(number, RegistryNames.NUMBER), counter_code)
    if application.state is ApplicationState.DELETED:
        raise ApplicationNotFound(f"La demande n° {application.number.display()} a été supprimée", RegistryNames.NUMBER)
    return answer_file(application, "02.01", now, counter_code)


def duplicates_answer(unit_of_work: UnitOfWorkFactory, counter_code: str, data: bytes,
                      now: datetime) -> tuple[bytes | None, bytes]:
    """getDoublons: the probable duplicates of a (possibly partial) file, and the file back as RET."""
    file = read_application_file(data)
    echoed = replace(file, file_type=FileType.ANSWER.value, file_date=now)
    if file.over_bound is not None:  # not read whole: nothing is looked for, the echo says why
        return None, write_file(replace(echoed, anomalies=[file.over_bound]))
    candidates = services.find_duplicates(unit_of_work(readonly=True), file.form, counter_code)
    numbers = dict.fromkeys(candidate.number for candidate in candidates)  # an application once, in order
    applications = [a for a in (_readable(unit_of_work, number, counter_code) for number in numbers) if a]
    echoed = write_file(echoed)
    if not applications:
        return None, echoed
    return write_duplicates(applications), echoed


def dalo_answer(unit_of_work: UnitOfWorkFactory, counter_code: str, data: bytes, now: datetime) -> bytes:
    """getDeclarationNouveauDalo: record the file's informationDalo on its application; RET back."""
    file = read_application_file(data)
    try:
        check_read_whole(file)
        if file.counter != counter_code:
            raise ForeignCounterFile(f"Le fichier est au nom du guichet {file.counter}", RegistryNames.COUNTER)
        if file.form.dalo is None:
            raise UnsupportedFile("Une déclaration DALO porte le bloc informationDalo", "informationDalo")
        application = services.declare_dalo(unit_of_work(), _number(file.number, RegistryNames.NUMBER),
                                            file.form.dalo, counter_code, now)
    except RegisterError as refusal:
        return _refusal(unit_of_work, file, refusal, counter_code, now)
    return answer_file(application, file.version, now, counter_code)
