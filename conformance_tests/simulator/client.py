"""``sne-hub-conformance simulate client``: a tiny counter system that runs the client profile's scenarios.

It is the example integrators copy: register a household, change, renew, read, search and cancel it,
and handle what the SNE answers the way a counter's software must: a probable duplicate is confirmed
(``forcerDoublon``) once the agent has checked it, an anomaly is corrected and the file sent again, a
lost answer (a fault) is followed by a search before registering again, so that no household is
registered twice. Requests go as MTOM, the way libsne's vendor client builds them.

``--break FAMILY`` makes it deliberately wrong in one family, so that the kit's tests can show that
the profile fails exactly the requirements of that family: ``framing`` (Content-Length and chunked
together), ``xsd`` (a rent that is not a number), ``mtom`` (an orphan part), ``certificates`` (no
client certificate), ``idempotency`` (registers again after a fault without searching), ``errors``
(ignores anomalies and duplicates).

    python -m conformance_tests.simulator.client [URL] [--ca CA --cert CERT --key KEY] [--break FAMILY]

Without arguments it reads ``SNE_URL``, ``SNE_CA``, ``SNE_CERT``, ``SNE_KEY`` and ``SNE_SCENARIOS``,
as the client profile's ``--client-run`` sets them.
"""

from __future__ import annotations

import argparse
import http.client
import os
import ssl
import sys
from datetime import date
from urllib.parse import urlsplit

from ..profiles.client.scenarios import ALPHA, CANCELLED, DUPLICATED, FAULTED, REFUSED, selected
from ..profiles.server.files import Household, application_file, cancellation, renewal, search_file, today
from ..profiles.server.operations import get_demande, get_num_unique, search
from ..profiles.server.wire import FILES_NS, Client, mtom_request, parse, read_reply

N = f"{{{FILES_NS}}}"
COUNTER = "KIT01"
COMMUNE = "57463"
POSTAL_CODE = "57000"
FAMILIES = ("framing", "xsd", "mtom", "certificates", "idempotency", "errors")


class Counter:
    """A counter's software, reduced to what the scenarios need."""

    def __init__(self, client: Client, broken: str | None = None):
        self.client, self.broken = client, broken

    def file(self, household: Household, kind: str, number: str | None = None, **details) -> bytes:
        data = application_file(COUNTER, household, kind, commune=COMMUNE, number=number, **details)
        if self.broken == "xsd" and kind == "CRE":
            data = data.replace(b"<ns2:montantLoyer>650<", b"<ns2:montantLoyer>six cent cinquante<")
        return data

    def send(self, household: Household, kind: str, number: str | None = None, **details):
        """getNumUnique: the RET file, or None when the SNE answered a fault."""
        reply = get_num_unique(self.client, self.file(household, kind, number, **details))
        data = reply.field("fichierDemande") if not reply.is_fault and reply.status == 200 else None
        return parse(data) if data else None

    def register(self, household: Household) -> str | None:
        """A CRE, with what a counter does about each kind of answer; the number, or None."""
        answer, email, force = self.send(household, "CRE"), "menage@example.org", False
        for _ in range(3):
            if answer is None:  # the answer was lost: the household may be registered already
                if self.broken != "idempotency":
                    found = self.search(household)
                    if found:
                        return found[0]
            elif not self.broken == "errors" and answer.find(f".//{N}listeAnomalie/{N}anomalie") is not None:
                if answer.find(f".//{N}listeDoublons") is not None:
                    force = True  # the agent checked the duplicates: another household
                elif answer.find(f".//{N}anomalie[@propriete='mel']") is not None:
                    email = "contact.menage@example.org"  # the agent corrected the address
                else:
                    return None
            else:
                return answer.findtext(f".//{N}demandeLogement/{N}numUnique")
            answer = self.send(household, "CRE", email=email, force_duplicate=force)
        return None

    def search(self, household: Household) -> list[str]:
        criteria = f"<personneRecherchee><nom>{household.surname}</nom></personneRecherchee>"
        reply = search(self.client, search_file(COUNTER, criteria))
        data = reply.field("fichierXmlRetour") if reply.status == 200 and not reply.is_fault else None
        return [number.text for number in parse(data).iter(f"{N}numUnique")] if data else []


def run(counter: Counter, wanted: set[str]) -> None:
    """The scenarios in ``wanted`` (scenario ids), in the order a counter lives them."""
    alpha = Household(ALPHA, "Camille", date(1984, 5, 17))
    number = counter.register(alpha)
    if number:
        if "change-a" in wanted:
            counter.send(alpha, "MOD", number)
        if "renew-a" in wanted:
            counter.send(alpha, "REN", number, lifecycle=renewal(today()))
        if "read-a" in wanted:
            get_demande(counter.client, number)
        if "search-a" in wanted:
            counter.search(alpha)
        if "cancel-a" in wanted:
            counter.send(alpha, "RAD", number, lifecycle=cancellation("RADABA", today()))
    for motive, name, _ in CANCELLED:
        household = Household(name, "Alix", date(1975, 3, 21))
        if f"cancel-{motive.lower()}" in wanted and (number := counter.register(household)):
            counter.send(household, "RAD", number,
                         lifecycle=cancellation(motive, today(), commune=COMMUNE, postal=POSTAL_CODE))
    for scenario, household in (("duplicate-d", Household(DUPLICATED, "Dominique", date(1979, 2, 3))),
                                ("anomaly-e", Household(REFUSED, "Eden", date(1991, 11, 30))),
                                ("retry-r", Household(FAULTED, "Sacha", date(1968, 7, 9)))):
        if scenario in wanted:
            counter.register(household)


class BadlyFramedClient(Client):
    """Sends Content-Length and Transfer-Encoding: chunked together (what a hand-made HTTP stack may do)."""

    def post(self, service: str, body: bytes, content_type: str):
        url = urlsplit(self.url(service))
        verify, cert = self.session.verify, self.session.cert
        context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
        if cert:
            context.load_cert_chain(*((cert,) if isinstance(cert, str) else cert))
        connection = http.client.HTTPSConnection(url.hostname, url.port, context=context, timeout=60)
        connection.putrequest("POST", url.path)
        for name, value in (("Content-Type", content_type), ("Content-Length", str(len(body))),
                            ("Transfer-Encoding", "chunked")):
            connection.putheader(name, value)
        connection.endheaders()
        connection.send(f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
        response = connection.getresponse()
        return read_reply(response.status, response.getheader("Content-Type", ""), response.read())


class OrphanPartClient(Client):
    """Adds an MTOM part that no xop:Include references."""

    def call(self, service, operation, message, fields, mtom=True):
        body, content_type = mtom_request(operation, message, fields)
        orphan = b"--MIME_BOUNDARY\r\nContent-Type: text/plain\r\nContent-ID: <forgotten>\r\n\r\nleft over\r\n"
        return self.post(service, body.replace(b"--MIME_BOUNDARY--", orphan + b"--MIME_BOUNDARY--"), content_type)


def client_for(args: argparse.Namespace) -> Client:
    kind = {"framing": BadlyFramedClient, "mtom": OrphanPartClient}.get(args.broken, Client)
    cert = None if args.broken == "certificates" else args.cert
    return kind(args.url, args.ca, cert, args.key, name=COUNTER)


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="sne-hub-conformance simulate client",
                                          description=__doc__.split("\n")[0])
    main_parser.add_argument("url", nargs="?", default=os.environ.get("SNE_URL"), help="the SNE's base URL")
    main_parser.add_argument("--ca", default=os.environ.get("SNE_CA"), help="CA that verifies the SNE (PEM)")
    main_parser.add_argument("--cert", default=os.environ.get("SNE_CERT"), help="the counter's certificate (PEM)")
    main_parser.add_argument("--key", default=os.environ.get("SNE_KEY"), help="its private key (PEM)")
    main_parser.add_argument("--scenarios", default=os.environ.get("SNE_SCENARIOS"), help="scenario ids (a,b)")
    main_parser.add_argument("--break", dest="broken", choices=FAMILIES, help="be wrong in this family, on purpose")
    return main_parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.url:
        parser().error("give the SNE's URL (or SNE_URL)")
    run(Counter(client_for(args), args.broken), {scenario.id for scenario in selected(args.scenarios)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
