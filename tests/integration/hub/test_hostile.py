"""exploration"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
import time
from dataclasses import dataclass

import pytest
from lxml import etree

from core.adapters.repository import count_rows

from .files import DEMANDE, RECHERCHE, get_demande, get_num_unique, interface_file, person
from .soap_client import NS, SOAP, XOP, Reply, build_inline, build_mtom, parse_reply

SERVICE = f"/services/{DEMANDE}/"


@dataclass
class Outcome:
    status: int | None
    content_type: str
    body: bytes
    reply: Reply | None = None
    error: str | None = None

    @property
    def code(self):
        return self.reply.fault_code if self.reply is not None else None

    @property
    def value(self):
        if self.reply is None:
            return None
        return self.reply.envelope.findtext(f".//{{{SOAP}}}Code/{{{SOAP}}}Value")


def send(hub, body=b"", content_type="application/soap+xml", *, path=SERVICE, method="POST", counter="DEMOB",
         headers=None, stranger=False, timeout=20):
    client = hub.client(counter, stranger=stranger)
    connection = http.client.HTTPSConnection("localhost", hub.port, context=client.context, timeout=timeout)
    all_headers = dict(headers or {})
    if content_type is not None:
        all_headers["Content-Type"] = content_type
    try:
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        data = response.read()
        ctype = response.getheader("Content-Type") or ""
        reply = None
        if ctype.startswith(("application/soap+xml", "multipart/related")):
            try:
                reply = parse_reply(response.status, ctype, data)
            except Exception as e:
                return Outcome(response.status, ctype, data, None, f"unparsable: {e}")
        return Outcome(response.status, ctype, data, reply)
    except (OSError, http.client.HTTPException) as error:
        return Outcome(None, "", b"", None, f"{type(error).__name__}: {error}")
    finally:
        connection.close()


def env(payload: str, prolog: str = "") -> bytes:
    return (f'{prolog}<soap:Envelope xmlns:soap="{SOAP}" xmlns:ws="{NS}"><soap:Header/><soap:Body>{payload}'
            f"</soap:Body></soap:Envelope>").encode()


def demande(number="0571126000001DEMOB"):
    return f"<ws:demandeLogementParametres><numUnique>{number}</numUnique><nomCertificat>c</nomCertificat><certificat></certificat></ws:demandeLogementParametres>"


def show(name, o):
    print(f"{name:40s} status={o.status} code={o.code} value={o.value} ct={o.content_type[:40]} err={o.error} body={o.body[:150] if o.reply is None else o.reply.fault_reason}")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_explore(hub):
    t = time.perf_counter()
    show("valid", send(hub, env(demande())))
    print("t", time.perf_counter() - t)
    show("xxe", send(hub, env(demande("&xxe;"), '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')))
    lol = '<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10)) + "]>"
    show("billion", send(hub, env(demande("&lol9;"), lol)))
    show("recursive", send(hub, env(demande("&a;"), '<!DOCTYPE x [<!ENTITY a "&b;"><!ENTITY b "&a;">]>')))
    show("param", send(hub, env(demande(), '<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>')))
    for depth in (60, 62, 63, 64, 100, 255, 256, 300, 1000, 10000):
        nested = "<a>" * depth + "x" + "</a>" * depth
        show(f"deep{depth}", send(hub, env(f"<ws:demandeLogementParametres><numUnique>{nested}</numUnique></ws:demandeLogementParametres>")))
    show("soap11", send(hub, env(demande()).replace(SOAP.encode(), b"http://schemas.xmlsoap.org/soap/envelope/")))
    show("text/xml", send(hub, env(demande()), "text/xml"))
    show("nuu110", send(hub, env(demande("0571126000001DEMOBX"))))
    show("nuu110 mtom", send(hub, *build_mtom("getDemandeLogement", "demandeLogementParametres", [("numUnique", "X"), ("nomCertificat", "c"), ("certificat", b"")])))
    body, ct = build_mtom("getDemandeLogement", "demandeLogementParametres", [("numUnique", "X"), ("nomCertificat", "c"), ("certificat", b"")], boundary="QQQ")
    show("nonascii boundary", send(hub, body.replace(b"QQQ", b"\xc3\xa9"), ct.replace("QQQ", "\u00c3\u00a9")))
    show("empty file", send(hub, *build_inline("getNumUnique", "numUniqueParametres", [("nomFichierDemande", "x"), ("fichierDemande", b""), ("nomCertificat", "c"), ("certificat", b"")])))
    show("nocert", send(hub, env(demande()), counter=None))
    show("stranger", send(hub, env(demande()), stranger=True))
    show("get", send(hub, b"", None, method="GET"))
    show("put", send(hub, env(demande()), method="PUT"))
    show("404", send(hub, env(demande()), path="/services/x/"))
    t = time.perf_counter()
    show("CL 10MB+1", send(hub, b" " * (10 * 1024 * 1024 + 1)))
    print("t", time.perf_counter() - t)
    t = time.perf_counter()
    show("CL 20MB", send(hub, b" " * (20 * 1024 * 1024)))
    print("t", time.perf_counter() - t)
    text = "A" * 10_100_000
    t = time.perf_counter()
    show("huge text", send(hub, env(demande(text))))
    print("t", time.perf_counter() - t)
    text = "A" * 9_000_000
    t = time.perf_counter()
    show("huge text 9M", send(hub, env(demande(text))))
    print("t", time.perf_counter() - t)
    show("valid", send(hub, env(demande())))
