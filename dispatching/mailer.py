"""Mail push: a delivery as a signed and encrypted mail to the counter's exchange mailbox.

For the legacy systems that exchange signed mails (the SNE sent DIS files by mail every day). One
mail per delivery: signed by the hub (SNE_HUB_MAIL_CERT/KEY), encrypted to the counter's registered
certificate (never sent in clear: without a valid one the delivery waits and the stream says why).
It carries:

- ``LIV<guichet>-<YYYYMMDDHHMM>.xml``: the delivery itself, the very ``recevoirDispatchParametres``
  element a SOAP receiver gets (rendered by zeep from the receiver WSDL), without the files;
- one ``DIS<guichet>-<YYYYMMDDHHMM>-<séquence>.xml`` per change (none for a deletion);

and a daily stream's mail on a day without changes is a *null flow*: a delivery without files,
whose ``derniereSequence`` still tells the receiving system it missed nothing.

A delivery counts as done when the relay (SNE_HUB_SMTP_RELAY) accepted the mail; without a relay,
the demo drops it as an ``.eml`` file into ``<drop>/<guichet>/inbox/``. Any failure is retried:
a relay's refusal is not the receiving system's judgement of the changes.
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
from pathlib import Path

import zeep
from cryptography import x509
from lxml import etree

from certificates import load_certificate
from certificates.mail import sealed_mail
from certificates.reading import load_private_key
from core.domain.calendar import now_in_paris
from core.service_layer.dispatching import Delivered, Delivery, Failed, Outcome
from core.wire.dispatch import wire_item

from .config import RECEIVER_WSDL, SERVICES_NS, DispatchSettings

RELAY_TIMEOUT = 60


class Mailer:
    def __init__(self, settings: DispatchSettings):
        self.settings = settings
        self.certificate = load_certificate(settings.mail_certificate.read_bytes())
        self.key = load_private_key(settings.mail_key.read_bytes())
        self.element = zeep.Client(str(RECEIVER_WSDL)).get_element(f"{{{SERVICES_NS}}}recevoirDispatchParametres")

    def deliver(self, delivery: Delivery) -> Outcome:
        counter = delivery.counter
        if not counter.mailbox:
            return Failed("le guichet n'a plus d'adresse d'échange")
        if delivery.encrypt_to is None:
            return Failed("aucun certificat valide du guichet n'est enregistré : rien n'est envoyé en clair")
        now = now_in_paris()
        items = [wire_item(item, counter.code) for item in delivery.items]
        parts = [(item["nomFichier"], item.pop("fichierDis"), "application/xml") for item in items
                 if "fichierDis" in item]
        manifest = self._manifest(delivery, items)
        parts.insert(0, (f"LIV{counter.code}-{now:%Y%m%d%H%M}.xml", manifest, "application/xml"))
        mail = sealed_mail(
            sender=self.settings.mail_address, recipient=counter.mailbox, subject=_subject(delivery),
            text=_text(delivery), parts=parts, certificate=self.certificate, key=self.key,
            recipient_certificate=x509.load_der_x509_certificate(delivery.encrypt_to), now=now,
            extra_headers=(("X-SNE-Livraison", delivery.id),))
        try:
            self._send(counter.code, counter.mailbox, mail.raw)
        except (smtplib.SMTPException, OSError, ssl.SSLError, socket.timeout) as error:
            return Failed(f"relais : {type(error).__name__}: {str(error)[:200]}")
        return Delivered({})

    def _manifest(self, delivery: Delivery, items: list[dict]) -> bytes:
        holder = etree.Element("holder")
        self.element.render(holder, self.element(
            idLivraison=delivery.id, guichet=delivery.counter.code, abonnement=delivery.subscription.id,
            derniereSequence=delivery.last_sequence, dispatch=items))
        return etree.tostring(holder[0], xml_declaration=True, encoding="UTF-8")

    def _send(self, counter: str, mailbox: str, raw: bytes) -> None:
        if self.settings.relay:
            with smtplib.SMTP(*self.settings.relay_address, timeout=RELAY_TIMEOUT) as relay:
                relay.sendmail(self.settings.mail_address, [mailbox], raw)
            return
        inbox = Path(self.settings.drop_directory) / counter / "inbox"
        inbox.mkdir(parents=True, exist_ok=True)
        target = inbox / f"dispatch-{now_in_paris():%Y%m%d-%H%M%S}-{os.getpid()}-{id(raw):x}.eml"
        temporary = target.with_suffix(".part")
        temporary.write_bytes(raw)
        os.replace(temporary, target)


def _subject(delivery: Delivery) -> str:
    if not delivery.items:
        return f"SNE dispatching {delivery.counter.code} : flux nul"
    return f"SNE dispatching {delivery.counter.code} : {len(delivery.items)} changement(s)"


def _text(delivery: Delivery) -> str:
    if not delivery.items:
        return (f"Aucun changement à vous transmettre aujourd'hui (flux nul).\r\n"
                f"Dernière séquence de votre abonnement {delivery.subscription.id} : {delivery.last_sequence}.\r\n")
    first, last = delivery.items[0].sequence, delivery.items[-1].sequence
    return (f"Livraison {delivery.id} : {len(delivery.items)} changement(s), séquences {first} à {last} "
            f"(dernière séquence de l'abonnement {delivery.subscription.id} : {delivery.last_sequence}).\r\n"
            f"Le détail est dans la pièce LIV…xml, un fichier DIS par changement.\r\n")
