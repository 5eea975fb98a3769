"""The hostile profile's families of cases: what an SNE hub must refuse, and with which stable code.

Each family is a list of ``Case`` (exchange.py); ``FAMILIES`` maps a family to its requirement id.
Moved from the project's tests/integration/hub/test_hostile.py (the cases themselves are unchanged).
"""

from __future__ import annotations

from typing import Callable

from ..server import files as server_files
from .exchange import (
    BOUNDARY,
    CERTIFICATE,
    DEMANDE_PATH,
    DTD_FORBIDDEN,
    ENVELOPE,
    FILE_INVALID,
    FILES_NS,
    MEDIA_TYPE,
    MESSAGE,
    METHOD,
    MISMATCH,
    MTOM_ENCODING,
    MTOM_INVALID,
    MTOM_MISSING_PART,
    NOT_WELL_FORMED,
    NS,
    OPERATION,
    OWN,
    RECHERCHE_PATH,
    ROOT_HEADERS,
    SOAP,
    SOAP11,
    SOAP_CT,
    SOAP_VERSION,
    STATE,
    TOO_DEEP,
    TOO_LARGE,
    XOP,
    Anomalies,
    Case,
    Context,
    Fault,
    NoAnswer,
    Outcome,
    Plain,
    Served,
    TlsRefused,
    dalo,
    doublons,
    envelope,
    header_includes,
    https,
    in_chunks,
    include,
    multipart,
    nested,
    num_unique,
    part,
    post,
    post_multipart,
    raw_exchange,
    read_payload,
    recherche,
)


def mtom_cases() -> list[Case]:
    def root(context: Context, certificate: str = "") -> tuple[list[str], bytes]:
        return ROOT_HEADERS, envelope(read_payload(context.number, certificate))

    def with_cert(context: Context, cert_headers: list[str] | bytes, cert_body: bytes, href: str = "cid:cert@hostile",
                  **options) -> tuple[bytes, str]:
        return multipart([root(context, f'<xop:Include xmlns:xop="{XOP}" href="{href}"/>'),
                          (cert_headers, cert_body)], **options)

    def send(build: Callable[[Context], tuple[bytes, str]]) -> Callable[[Context], Outcome]:
        return post_multipart(build)

    ok_type = 'multipart/related; type="application/xop+xml"; start="<root.message@hostile>"'
    valid_cert = part("cert@hostile")
    return [
        Case("boundary-parameter-missing", send(lambda c: multipart([root(c)], content_type=ok_type)),
             Fault(400, MTOM_INVALID)),
        Case("boundary-parameter-empty", send(lambda c: multipart([root(c)], content_type=ok_type + '; boundary=""')),
             Fault(400, MTOM_INVALID)),
        Case("boundary-never-present", send(lambda c: (multipart([root(c)])[0], ok_type + "; boundary=elsewhere")),
             Fault(400, MTOM_INVALID)),
        Case("boundary-once", send(lambda c: (b"--" + BOUNDARY.encode() + b"\r\n" + b"\r\n".join(
            h.encode() for h in ROOT_HEADERS) + b"\r\n\r\n" + envelope(read_payload(c.number)),
            multipart([])[1])), Fault(400, MTOM_INVALID)),
        Case("no-closing-delimiter", send(lambda c: multipart([root(c), (valid_cert, b"")], closing=False)),
             Fault(400, MTOM_INVALID)),
        Case("closing-delimiter-only", post(f"--{BOUNDARY}--\r\n".encode(), multipart([])[1]),
             Fault(400, MTOM_INVALID)),
        Case("empty-body", post(b"", multipart([])[1]), Fault(400, MTOM_INVALID)),
        Case("preamble-only", post(b"This is a preamble without any part.\r\n", multipart([])[1]),
             Fault(400, MTOM_INVALID)),
        Case("part-without-headers", send(lambda c: (
            f"--{BOUNDARY}\r\n".encode() + envelope(read_payload(c.number)) + f"\r\n--{BOUNDARY}--\r\n".encode(),
            multipart([])[1])), Fault(400, MTOM_INVALID)),
        Case("part-with-empty-head", send(lambda c: multipart([(b"", envelope(read_payload(c.number)))])),
             Fault(400, MTOM_INVALID)),
        Case("header-line-without-colon", send(lambda c: multipart([(
            ["Content-Type application/xop+xml", "Content-ID: <root.message@hostile>"],
            envelope(read_payload(c.number)))])), Fault(400, MTOM_INVALID)),
        Case("include-missing-cid", send(lambda c: with_cert(c, valid_cert, b"", href="cid:absent@hostile")),
             Fault(400, MTOM_MISSING_PART)),
        Case("include-http-href", send(lambda c: with_cert(c, valid_cert, b"", href="http://127.0.0.1:1/cert")),
             Fault(400, MTOM_MISSING_PART)),
        Case("include-file-href", send(lambda c: with_cert(c, valid_cert, b"", href="file:///etc/passwd")),
             Fault(400, MTOM_MISSING_PART)),
        Case("include-empty-href", send(lambda c: with_cert(c, valid_cert, b"", href="")),
             Fault(400, MTOM_MISSING_PART)),
        Case("include-empty-cid", send(lambda c: with_cert(c, valid_cert, b"", href="cid:")),
             Fault(400, MTOM_MISSING_PART)),
        Case("include-encoded-traversal", send(lambda c: with_cert(c, valid_cert, b"",
                                                                   href="cid:%2e%2e%2f%2e%2e%2fetc%2fpasswd")),
             Fault(400, MTOM_MISSING_PART)),
        Case("include-without-href", send(lambda c: multipart([root(c, f'<xop:Include xmlns:xop="{XOP}"/>')])),
             Fault(400, MTOM_MISSING_PART)),
        Case("include-in-header-missing", send(lambda c: multipart([(ROOT_HEADERS, envelope(
            read_payload(c.number), header=f"<soap:Header>{include('nowhere')}</soap:Header>"))])),
            Fault(400, MTOM_MISSING_PART)),
        Case("base64-part-invalid", send(lambda c: with_cert(c, part("cert@hostile", "BASE64"),
                                                             b"!!! pas du base64 !!!",
                                                             href="cid:cert@hostile")),
             Fault(400, MTOM_ENCODING)),
        Case("base64-part-bad-padding", send(lambda c: with_cert(c, part("cert@hostile", "base64"), b"abc",
                                                                 href="cid:cert@hostile")),
             Fault(400, MTOM_ENCODING)),
        Case("base64-root-invalid", send(lambda c: multipart([(
            ['Content-Type: application/xop+xml; type="application/soap+xml"', "Content-Transfer-Encoding: base64",
             "Content-ID: <root.message@hostile>"], b"<soap:Envelope>")])), Fault(400, MTOM_ENCODING)),
        Case("encoding-x-uuencode", send(lambda c: with_cert(c, part("cert@hostile", "x-uuencode"), b"begin 644",
                                                             href="cid:cert@hostile")),
             Fault(400, MTOM_ENCODING)),
        Case("encoding-gzip", send(lambda c: with_cert(c, part("cert@hostile", "gzip"), b"\x1f\x8b\x08\x00",
                                                       href="cid:cert@hostile")),
             Fault(400, MTOM_ENCODING)),
        Case("encoding-base65", send(lambda c: with_cert(c, part("cert@hostile", "base65"), b"AAAA",
                                                         href="cid:cert@hostile")),
             Fault(400, MTOM_ENCODING)),
        Case("encoding-unknown-on-root", send(lambda c: multipart([(
            ['Content-Type: application/xop+xml; type="application/soap+xml"',
             "Content-Transfer-Encoding: x-compress", "Content-ID: <root.message@hostile>"],
            envelope(read_payload(c.number)))])), Fault(400, MTOM_ENCODING)),
        Case("root-part-text-xml", send(lambda c: multipart([(
            ["Content-Type: text/xml", "Content-ID: <root.message@hostile>"], envelope(read_payload(c.number)))])),
            Fault(415, MEDIA_TYPE)),
        Case("root-part-soap-xml", send(lambda c: multipart([(
            ["Content-Type: application/soap+xml", "Content-ID: <root.message@hostile>"],
            envelope(read_payload(c.number)))])), Fault(415, MEDIA_TYPE)),
        Case("root-part-no-content-type", send(lambda c: multipart([(
            ["Content-ID: <root.message@hostile>"], envelope(read_payload(c.number)))])), Fault(415, MEDIA_TYPE)),
        Case("root-part-octet-stream", send(lambda c: multipart([(
            part("root.message@hostile"), envelope(read_payload(c.number)))])), Fault(415, MEDIA_TYPE)),
        Case("multipart-type-text-xml", send(lambda c: (multipart([root(c)])[0],
                                                        f'multipart/related; type="text/xml"; boundary="{BOUNDARY}"')),
             Fault(415, MEDIA_TYPE)),
        Case("multipart-type-missing", send(lambda c: (multipart([root(c)])[0],
                                                       f'multipart/related; boundary="{BOUNDARY}"')),
             Fault(415, MEDIA_TYPE)),
        Case("start-missing-part", send(lambda c: multipart([root(c)], start="<nowhere@hostile>")),
             Fault(400, MTOM_MISSING_PART)),
        Case("start-pointing-to-a-binary-part", send(lambda c: with_cert(
            c, valid_cert, b"\x00\x01", href="cid:cert@hostile", start="<cert@hostile>")), Fault(415, MEDIA_TYPE)),
        Case("17-parts", send(lambda c: multipart([root(c)] + [(part(f"p{i}"), b"x") for i in range(16)])),
             Fault(400, MTOM_INVALID)),
        Case("100-parts", send(lambda c: multipart([root(c)] + [(part(f"p{i}"), b"x") for i in range(99)])),
             Fault(400, MTOM_INVALID)),
        Case("5000-empty-parts", send(lambda c: multipart([root(c)] + [(part(f"p{i}"), b"") for i in range(4999)])),
             Fault(400, MTOM_INVALID)),
        Case("16-parts-is-the-limit", send(lambda c: multipart([(ROOT_HEADERS, envelope(
            read_payload(c.number), header=header_includes(15)))] + [(part(f"p{i}"), b"x") for i in range(15)])),
            Served(field="fichierDemande")),
        Case("root-invalid-utf8", send(lambda c: multipart([(ROOT_HEADERS, envelope(read_payload("x")).replace(
            b">x<", b">\xff\xfe\xc3<"))])), Fault(400, NOT_WELL_FORMED)),
        Case("root-not-xml", send(lambda c: multipart([(ROOT_HEADERS, b"%PDF-1.4 not xml")])),
             Fault(400, NOT_WELL_FORMED)),
        Case("include-points-at-the-root", send(lambda c: multipart([
            (ROOT_HEADERS, envelope(read_payload(c.number, include("root.message@hostile"))))])),
            Fault(400, "NUU187")),  # the envelope's bytes as a certificate: unreadable
        Case("special-characters-boundary", send(lambda c: multipart([root(c)], boundary="'()+_,-./:=?")),
             Served(field="fichierDemande")),
    ]


def in_precision(context: Context, reference: str, prolog: str = "", role: str = OWN, number: str | None = None) -> bytes:
    """A valid file of ``role``'s counter carrying ``reference`` in its free text, ``prolog`` before its root."""
    data = context.hub.application_file(role=role, number=number)
    data = data.replace(b"<ns2:precision>", b"<ns2:precision>" + reference.encode(), 1)
    declaration, found, rest = data.partition(b"?>")
    return declaration + found + prolog.encode() + rest if data.startswith(b"<?xml") else prolog.encode() + data


def search_file(context: Context, criteria: str = "", prolog: str = "") -> bytes:
    """A search request of the counter, ``prolog`` before its root."""
    return prolog.encode() + server_files.search_file(context.hub.counter, criteria)


XXE = {  # name: (prolog, reference)
    "entity-file": ('<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;"),
    "entity-http": ('<!DOCTYPE x [<!ENTITY xxe SYSTEM "http://127.0.0.1:1/">]>', "&xxe;"),
    "entity-public": ('<!DOCTYPE x [<!ENTITY xxe PUBLIC "-//A//B//EN" "file:///etc/passwd">]>', "&xxe;"),
    "entity-unused": ('<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', ""),
    "pe-declared": ('<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd">]>', ""),
    "pe-internal": ("<!DOCTYPE x [<!ENTITY % p \"<!ENTITY y 'z'>\"> %p;]>", "&y;"),
    "pe-missing-file": ('<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///nonexistent/x.dtd"> %p;]>', ""),
    "subset-missing-file": ('<!DOCTYPE x SYSTEM "file:///nonexistent/x.dtd">', ""),
}
DTDS = {  # a DTD present at all, harmless: still refused
    "doctype-only": "<!DOCTYPE soap:Envelope>",
    "empty-subset": "<!DOCTYPE x []>",
    "element-decl": "<!DOCTYPE x [<!ELEMENT x ANY>]>",
    "attlist-default": "<!DOCTYPE x [<!ATTLIST numUnique injected CDATA \"oui\">]>",
    "notation": '<!DOCTYPE x [<!NOTATION n SYSTEM "file:///etc/passwd">]>',
    "comment-in-subset": "<!DOCTYPE x [<!-- rien -->]>",
    "internal-entity": '<!DOCTYPE x [<!ENTITY e "valeur">]>',
}


def carriers(prolog: str, reference: str) -> dict[str, Callable[[Context], Outcome]]:
    """The same hostile prolog and reference in each place the hub parses XML from outside."""
    def envelope_with(context: Context) -> bytes:
        return envelope(read_payload(reference or context.number), prolog=prolog)

    def mtom_root(context: Context) -> tuple[bytes, str]:
        return multipart([(ROOT_HEADERS, envelope_with(context))])

    return {
        "soap": post(envelope_with),
        "mtom-root": post_multipart(mtom_root),
        "file-mtom": num_unique(lambda c: in_precision(c, reference, prolog)),
        "file-inline": num_unique(lambda c: in_precision(c, reference, prolog), mtom=False),
        "doublons": doublons(lambda c: in_precision(c, reference, prolog)),
        "dalo": dalo(lambda c: in_precision(c, reference, prolog, STATE, c.number)),
        "search": recherche(lambda c: search_file(
            c, f"<personneRecherchee><nom>{reference}</nom></personneRecherchee>", prolog)),
    }


def xxe_cases() -> list[Case]:
    return [Case(f"{name}/{where}", send, Fault(400, DTD_FORBIDDEN))
            for name, (prolog, reference) in XXE.items() for where, send in carriers(prolog, reference).items()]


def dtd_cases() -> list[Case]:
    return [Case(f"{name}/{where}", send, Fault(400, DTD_FORBIDDEN))
            for name, prolog in DTDS.items()
            for where, send in carriers(prolog, "").items() if where in ("soap", "mtom-root", "file-mtom",
                                                                         "file-inline", "search")]


def expansion_cases() -> list[Case]:
    """Entities that expand a little (below libxml2's amplification limit): a DTD, refused as such."""
    small = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;">]>'
    return [Case(f"small-expansion/{where}", send, Fault(400, DTD_FORBIDDEN))
            for where, send in carriers(small, "&c;").items()]


def depth_cases() -> list[Case]:
    def inside(depth: int) -> str:
        return read_payload(nested(depth))

    return [
        # Envelope, Body, demandeLogementParametres, numUnique: 4 levels before the nesting.
        Case("envelope-depth-64", post(envelope(inside(60))), Fault(400, MESSAGE)),
        Case("envelope-depth-65", post(envelope(inside(61))), Fault(400, TOO_DEEP)),
        Case("envelope-depth-100", post(envelope(inside(96))), Fault(400, TOO_DEEP)),
        Case("envelope-depth-200", post(envelope(inside(196))), Fault(400, TOO_DEEP)),
        Case("header-depth-100", post(lambda c: envelope(read_payload(c.number),
                                                         header=f"<soap:Header>{nested(100)}</soap:Header>")),
             Fault(400, TOO_DEEP)),
        Case("mtom-root-depth-100", post_multipart(lambda c: multipart([(ROOT_HEADERS, envelope(inside(100)))])),
             Fault(400, TOO_DEEP)),
        Case("file-depth-100", num_unique(lambda c: in_precision(c, nested(100))), Fault(400, TOO_DEEP)),
        Case("file-depth-100-inline", num_unique(lambda c: in_precision(c, nested(100)), mtom=False),
             Fault(400, TOO_DEEP)),
        Case("file-depth-200-doublons", doublons(lambda c: in_precision(c, nested(200))), Fault(400, TOO_DEEP)),
        Case("file-depth-100-dalo", dalo(lambda c: in_precision(c, nested(100), "", STATE, c.number)),
             Fault(400, TOO_DEEP)),
        Case("search-depth-100", recherche(lambda c: search_file(c, f"<personneRecherchee>{nested(100)}</personneRecherchee>")),
             Fault(400, TOO_DEEP)),
        Case("wide-not-deep", post(envelope(read_payload("<a/>" * 50_000))), Fault(400, MESSAGE)),
    ]


def oversize_cases() -> list[Case]:
    """Bodies above the hub's size bound (``--sne-max-request-bytes``), announced or chunked, and text nodes
    beyond what the XML parser takes."""
    def above(context: Context) -> int:
        return context.hub.max_request_bytes + 1


    def head(length_header: str, content_type: str = SOAP_CT) -> bytes:
        return (f"POST {DEMANDE_PATH} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                f"Content-Type: {content_type}\r\n{length_header}\r\n").encode()

    def chunked(size: int, content_type: str = SOAP_CT) -> list[bytes]:
        pieces, step = [head("Transfer-Encoding: chunked\r\n", content_type)], 1 << 20
        block = b"<" + b"a" * (step - 1)
        left = size
        while left:
            n = min(step, left)
            pieces.append(b"%x\r\n" % n + block[:n] + b"\r\n")
            left -= n
        return pieces + [b"0\r\n\r\n"]

    multipart_type = f'multipart/related; type="application/xop+xml"; boundary="{BOUNDARY}"'
    text_1m5 = "7" * 1_500_000
    return [
        Case("content-length-max+1", lambda c: raw_exchange(c.hub, [head(f"Content-Length: {above(c)}\r\n")]),
             Fault(413, TOO_LARGE)),
        Case("content-length-max+32k", lambda c: raw_exchange(
            c.hub, [head(f"Content-Length: {c.hub.max_request_bytes + 32 * 1024}\r\n")]), Fault(413, TOO_LARGE)),
        Case("content-length-max+1-mtom", lambda c: raw_exchange(
            c.hub, [head(f"Content-Length: {above(c)}\r\n", multipart_type)]), Fault(413, TOO_LARGE)),
        Case("content-length-max+1-no-cert", lambda c: raw_exchange(
            c.hub, [head(f"Content-Length: {above(c)}\r\n")], counter=None), Fault(413, TOO_LARGE)),
        Case("chunked-body-max+1", lambda c: raw_exchange(c.hub, chunked(above(c))), Fault(413, TOO_LARGE)),
        Case("chunked-body-max+1-mtom", lambda c: raw_exchange(c.hub, chunked(above(c), multipart_type)),
             Fault(413, TOO_LARGE)),
        Case("chunked-body-max+64k", lambda c: raw_exchange(c.hub, chunked(c.hub.max_request_bytes + 60 * 1024)),
             Fault(413, TOO_LARGE)),
        # A single text node beyond libxml2's limit (10 000 000 characters) inside the 10 MiB bound.
        Case("text-node-10.1M", post(envelope(read_payload("7" * 10_100_000))), Fault(400, NOT_WELL_FORMED)),
        Case("text-node-1.5M", post(envelope(read_payload(text_1m5))), Fault(400, "NUU110")),
        Case("text-node-1M-in-file", num_unique(lambda c: in_precision(c, "p" * 1_000_000)),
             Fault(400, FILE_INVALID)),
    ]


def content_type_cases() -> list[Case]:
    def body(context: Context) -> bytes:
        return envelope(read_payload(context.number))

    soap11 = (f'<s:Envelope xmlns:s="{SOAP11}" xmlns:ws="{NS}"><s:Body>{read_payload("0571126000001DEMOB")}'
              "</s:Body></s:Envelope>").encode()
    form = (b'--form\r\nContent-Disposition: form-data; name="file"; filename="f.xml"\r\n'
            b"Content-Type: text/xml\r\n\r\n<a/>\r\n--form--\r\n")
    return [
        Case("text-xml-soap11", post(soap11, 'text/xml; charset=utf-8', headers={"SOAPAction": '"getDemandeLogement"'}),
             Fault(415, SOAP_VERSION)),
        Case("text-xml-soap12", post(body, "text/xml"), Fault(415, SOAP_VERSION)),
        Case("application-json", post(b'{"numUnique": "0571126000001DEMOB"}', "application/json"),
             Fault(415, MEDIA_TYPE)),
        Case("missing", post(body, None), Fault(415, MEDIA_TYPE)),
        Case("empty", post(body, ""), Fault(415, MEDIA_TYPE)),
        Case("multipart-form-data", post(form, "multipart/form-data; boundary=form"), Fault(415, MEDIA_TYPE)),
        Case("application-xml", post(body, "application/xml"), Fault(415, MEDIA_TYPE)),
        Case("text-plain", post(body, "text/plain"), Fault(415, MEDIA_TYPE)),
        Case("form-urlencoded", post(b"numUnique=1", "application/x-www-form-urlencoded"), Fault(415, MEDIA_TYPE)),
        Case("multipart-mixed", post(lambda c: multipart([(ROOT_HEADERS, body(c))])[0],
                                     f'multipart/mixed; boundary="{BOUNDARY}"'), Fault(415, MEDIA_TYPE)),
        Case("soap-xml-lookalike", post(body, "application/soap+xmlx"), Fault(415, MEDIA_TYPE)),
        Case("wildcard", post(body, "*/*"), Fault(415, MEDIA_TYPE)),
        Case("garbage", post(body, ";;;==="), Fault(415, MEDIA_TYPE)),
        Case("xop-without-multipart", post(body, 'application/xop+xml; type="application/soap+xml"'),
             Fault(415, MEDIA_TYPE)),
    ]


def envelope_cases() -> list[Case]:
    def raw(text: str) -> bytes:
        return text.encode()

    def soap11(context: Context) -> bytes:
        return (f'<s:Envelope xmlns:s="{SOAP11}" xmlns:ws="{NS}"><s:Header/><s:Body>{read_payload(context.number)}'
                "</s:Body></s:Envelope>").encode()

    payload = read_payload("0571126000001DEMOB")
    body = f'<soap:Body>{payload}</soap:Body>'
    wrap = f'<soap:Envelope xmlns:soap="{SOAP}" xmlns:ws="{NS}">{{}}</soap:Envelope>'
    version_mismatch = Fault(500, SOAP_VERSION, MISMATCH)
    not_envelope = Fault(400, ENVELOPE)
    malformed = Fault(400, NOT_WELL_FORMED)
    return [
        Case("soap11-envelope", post(soap11), version_mismatch),
        Case("soap11-envelope-mtom", post_multipart(lambda c: multipart([(ROOT_HEADERS, soap11(c))])),
             version_mismatch),
        Case("soap11-envelope-with-soap12-body", post(raw(
            f'<s:Envelope xmlns:s="{SOAP11}" xmlns:soap="{SOAP}" xmlns:ws="{NS}">{body}</s:Envelope>')),
            version_mismatch),
        Case("root-foo", post(raw("<foo/>")), not_envelope),
        Case("root-interface-file", post(lambda c: c.hub.application_file()), not_envelope),
        Case("root-body", post(raw(f'<soap:Body xmlns:soap="{SOAP}" xmlns:ws="{NS}">{payload}</soap:Body>')),
             not_envelope),
        Case("envelope-no-namespace", post(raw(f'<Envelope xmlns:ws="{NS}"><Body>{payload}</Body></Envelope>')),
             not_envelope),
        Case("envelope-namespace-trailing-slash", post(envelope(payload, ns=SOAP + "/")), not_envelope),
        Case("envelope-wsdl-namespace", post(envelope(payload, ns="http://schemas.xmlsoap.org/wsdl/")), not_envelope),
        Case("empty-body", post(b""), malformed),
        Case("whitespace-body", post(b" \r\n\t "), malformed),
        Case("text-body", post(b"hello"), malformed),
        Case("binary-body", post(bytes(range(256)) * 4), malformed),
        Case("json-body", post(b'{"Envelope": {}}'), malformed),
        Case("truncated-envelope", post(lambda c: envelope(read_payload(c.number))[:-40]), malformed),
        Case("two-roots", post(lambda c: envelope(read_payload(c.number)) * 2), malformed),
        Case("nul-character-reference", post(envelope(read_payload("&#0;"))), malformed),
        Case("undefined-entity", post(envelope(read_payload("&nbsp;"))), malformed),
        Case("unknown-encoding", post(lambda c: b'<?xml version="1.0" encoding="x-klingon"?>' + envelope(
            read_payload(c.number))), malformed),
        Case("utf16-declared-utf8-sent", post(lambda c: b'<?xml version="1.0" encoding="UTF-16"?>' + envelope(
            read_payload(c.number))), malformed),
        Case("unbound-prefix", post(raw(wrap.format("<soap:Body><x:y/></soap:Body>"))), malformed),
        Case("two-bodies", post(raw(wrap.format(body + body))), not_envelope),
        Case("no-body", post(raw(wrap.format("<soap:Header/>"))), not_envelope),
        Case("empty-soap-body", post(raw(wrap.format("<soap:Body/>"))), not_envelope),
        Case("text-only-body", post(raw(wrap.format("<soap:Body>0571126000001DEMOB</soap:Body>"))), not_envelope),
        Case("comment-only-body", post(raw(wrap.format("<soap:Body><!-- rien --></soap:Body>"))), not_envelope),
        Case("two-payloads", post(raw(wrap.format(f"<soap:Body>{payload}{payload}</soap:Body>"))), not_envelope),
        Case("two-different-payloads", post(raw(wrap.format(
            f"<soap:Body>{payload}<ws:rechercheDoublonsParametres/></soap:Body>"))), not_envelope),
        Case("soap11-body-in-soap12-envelope", post(raw(
            f'<soap:Envelope xmlns:soap="{SOAP}" xmlns:s="{SOAP11}" xmlns:ws="{NS}"><s:Body>{payload}</s:Body>'
            "</soap:Envelope>")), not_envelope),
    ]


def operation_cases() -> list[Case]:
    def named(element: str, ns: str | None = NS) -> bytes:
        declaration = f' xmlns:op="{ns}"' if ns is not None else ""
        prefix = "op:" if ns is not None else ""
        inner = "<numUnique>0571126000001DEMOB</numUnique><nomCertificat>c</nomCertificat><certificat/>"
        return envelope(f"<{prefix}{element}{declaration}>{inner}</{prefix}{element}>")

    unknown = Fault(400, OPERATION)
    search_message = envelope("<ws:fichierXmlParametres><nomFichier>r</nomFichier><fichierXml/>"
                              "<nomCertificat>c</nomCertificat></ws:fichierXmlParametres>")
    return [
        Case("unknown-element", post(named("fooParametres")), unknown),
        Case("answer-element-as-request", post(named("numUniqueReponse")), unknown),
        Case("operation-name-not-element", post(named("getNumUnique")), unknown),
        Case("element-case-changed", post(named("DemandeLogementParametres")), unknown),
        Case("other-service-operation", post(search_message), unknown),
        Case("this-service-operation-elsewhere", post(named("demandeLogementParametres"), path=RECHERCHE_PATH),
             unknown),
        Case("no-namespace", post(named("demandeLogementParametres", None)), unknown),
        Case("file-namespace", post(named("demandeLogementParametres", FILES_NS)), unknown),
        Case("namespace-without-slash", post(named("demandeLogementParametres", NS.rstrip("/"))), unknown),
        Case("namespace-upper-case", post(named("demandeLogementParametres", NS.upper())), unknown),
        Case("soap-namespace", post(named("demandeLogementParametres", SOAP)), unknown),
        Case("soap-fault-as-request", post(envelope("<soap:Fault/>")), unknown),
    ]



def http_cases() -> list[Case]:
    cases = []
    for path in (DEMANDE_PATH, RECHERCHE_PATH):
        service = path.split("/")[2]
        for method in ("GET", "PUT", "DELETE", "PATCH", "OPTIONS"):
            cases.append(Case(f"{method}/{service}", post(lambda c: envelope(read_payload(c.number)), method=method,
                                                          path=path), Fault(405, METHOD)))
        cases.append(Case(f"GET-wsdl-with-value/{service}", post(b"", None, method="GET", path=path + "?wsdl=1"),
                          Fault(405, METHOD)))
        cases.append(Case(f"GET-wsdl-and-more/{service}", post(b"", None, method="GET", path=path + "?wsdl&x=1"),
                          Fault(405, METHOD)))
        cases.append(Case(f"GET-no-certificate/{service}", post(b"", None, method="GET", path=path, counter=None),
                          Fault(405, METHOD)))
    cases.append(Case("HEAD/DemandeLogement", post(b"", None, method="HEAD"), Plain(405)))
    for name, host in (("path", "evil.example/x"), ("quote", 'evil.example"><x'), ("space", "evil example"),
                       ("empty", ""), ("userinfo", "user@evil.example")):
        cases.append(Case(f"GET-wsdl-host-{name}", post(b"", None, method="GET", path=f"{DEMANDE_PATH}?wsdl",
                                                        headers={"Host": host}), Plain(400, b"Host")))
    cases.append(Case("PROPFIND/DemandeLogement", post(b"", None, method="PROPFIND"), Fault(405, METHOD)))
    paths = ["/", "/services/", "/services", "/services/Inconnu/", "/services/DossierUniqueImplService/",
             "/services/demandelogementimplservice/", f"{DEMANDE_PATH}extra/", "/services//DemandeLogementImplService/",
             "/etc/passwd", "/../../etc/passwd", "/services/%2e%2e/%2e%2e/etc/passwd",
             "/services/DemandeLogementImplService%00/", "/wsdl/DemandeLogementImplService.wsdl",
             "/services/DemandeLogementImplService/../RechercheDemandeImplService/"]
    for path in paths:
        for method in ("POST", "GET"):
            cases.append(Case(f"{method} {path}", post(lambda c: envelope(read_payload(c.number)), method=method,
                                                       path=path), Plain(404, b"Services")))
    return cases


def transport_cases() -> list[Case]:
    def request(head: str, body: bytes = b"") -> list[bytes]:
        return [head.encode("latin-1") + b"\r\n" + body]

    base = f"POST {DEMANDE_PATH} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: {SOAP_CT}\r\n"
    return [
        Case("malformed-request-line", lambda c: raw_exchange(c.hub, [b"\x00\x01\x02 garbage\r\n\r\n"]),
             Plain(400, b"Malformed Request-Line")),
        Case("chunked-body", lambda c: raw_exchange(c.hub, request(
            base + "Transfer-Encoding: chunked\r\n", in_chunks(envelope(read_payload(c.number)), 100))),
            Served(field="fichierDemande")),
        Case("content-encoding-identity", post(lambda c: envelope(read_payload(c.number)),
                                               headers={"Content-Encoding": "identity"}),
             Served(field="fichierDemande")),
        Case("http-1.0-truncated-body", lambda c: raw_exchange(c.hub, request(
            f"POST {DEMANDE_PATH} HTTP/1.0\r\nContent-Type: {SOAP_CT}\r\nContent-Length: 2\r\n", b"<a")),
            Fault(400, NOT_WELL_FORMED)),
        Case("200k-header", lambda c: raw_exchange(c.hub, request(base + "X-A: " + "a" * 200_000 +
                                                                  "\r\nContent-Length: 0\r\n")),
             Fault(400, NOT_WELL_FORMED)),
        Case("5000-headers", lambda c: raw_exchange(c.hub, request(base + "".join(
            f"X-H{i}: v\r\n" for i in range(5000)) + "Content-Length: 0\r\n")), Fault(400, NOT_WELL_FORMED)),
        Case("one-byte-records", lambda c: raw_exchange(c.hub, [bytes([b]) for b in (
            base + f"Content-Length: {len(envelope(read_payload(c.number)))}\r\n\r\n").encode()
            + envelope(read_payload(c.number))]), Served(field="fichierDemande")),
        Case("plain-http-on-tls-port", lambda c: raw_exchange(c.hub, request(base + "Content-Length: 0\r\n"),
                                                              tls=False, timeout=5), NoAnswer()),
        Case("garbage-instead-of-client-hello", lambda c: raw_exchange(c.hub, [bytes(range(256)) * 4], tls=False,
                                                                       timeout=5), NoAnswer()),
        Case("tls-then-nothing", lambda c: raw_exchange(c.hub, [], timeout=2), NoAnswer()),
    ]

def certificate_cases() -> list[Case]:
    """No client certificate (whatever headers claim one), or one from an authority the hub does not trust."""
    body = lambda c: envelope(read_payload(c.number))  # noqa: E731
    return [
        # No client certificate at all: refused before anything is parsed.
        Case("no-client-certificate/read", post(body, counter=None), Fault(403, CERTIFICATE)),
        Case("no-client-certificate/CRE", num_unique(lambda c: c.hub.application_file(410), counter=None),
             Fault(403, CERTIFICATE)),
        Case("no-client-certificate/xxe", post(envelope(read_payload("&xxe;"), prolog=XXE["entity-file"][0]),
                                               counter=None), Fault(403, CERTIFICATE)),
        Case("no-client-certificate/garbage", post(b"\x00garbage", counter=None), Fault(403, CERTIFICATE)),
        Case("no-client-certificate/search", post(b"<a/>", counter=None, path=RECHERCHE_PATH),
             Fault(403, CERTIFICATE)),
        Case("no-client-certificate/spoofed-header", post(body, counter=None, headers={
            "SSL-Client-Cert": "x", "X-SSL-Client-Cert": "y"}), Fault(403, CERTIFICATE)),
        Case("no-client-certificate/pem-in-header", lambda c: https(
            c.hub, body(c), SOAP_CT, counter=None, headers={
                "X-Client-Cert": c.hub.certificate(OWN).decode().replace("\n", " "),
                "SSL_CLIENT_CERT": c.hub.certificate(OWN).decode().replace("\n", " ")}),
            Fault(403, CERTIFICATE)),
        # A certificate from another authority: the TLS handshake itself is refused.
        Case("stranger-ca/read", post(body, stranger=True), TlsRefused()),
        Case("stranger-ca/CRE", num_unique(lambda c: c.hub.application_file(411), stranger=True), TlsRefused()),
        Case("stranger-ca/search", post(b"<a/>", stranger=True, path=RECHERCHE_PATH), TlsRefused()),
        Case("stranger-ca/wsdl", post(b"", None, method="GET", path=f"{DEMANDE_PATH}?wsdl", stranger=True),
             TlsRefused()),
    ]


REFUSED_NAMES = {
    "spaces": "   ",
    "zero-width-space": "\u200b",
    "hyphen": "-",
    "lone-combining-accent": "\u0301",
    "accent-before-letter": "\u0301Martin",
    "tab": "Mar\ttin",
    "newline": "Martin\nDupont",
    "right-to-left-override": "\u202eMartin",
    "byte-order-mark": "\ufeffMartin",
    "no-break-space": "Le\u00a0Gall",
    "zero-width-joiner": "Mar\u200dtin",
}


NAME_FIELDS = {"surname": "personnePhysique.demandeur.nom", "first_name": "personnePhysique.demandeur.prenom"}


def name_cases() -> list[Case]:
    """An applicant's name without a letter first, or with control or invisible characters: anomaly NUU103
    on it (and on the dependants' names too, which the kit's household shares its surname with)."""
    return [Case(f"{field}/{case}", num_unique(lambda c, field=field, name=name: c.hub.application_file(
                **{field: name})), Anomalies(("NUU103",), properties=(where,)))
            for case, name in sorted(REFUSED_NAMES.items()) for field, where in NAME_FIELDS.items()]


FAMILIES: dict[str, tuple[str, Callable[[], list[Case]]]] = {  # family: (requirement, its cases)
    "xxe": ("SNE-HUB-R056", xxe_cases),
    "dtd": ("SNE-HUB-R056", dtd_cases),
    "expansion": ("SNE-HUB-R056", expansion_cases),
    "depth": ("SNE-HUB-R057", depth_cases),
    "names": ("SNE-HUB-R058", name_cases),
    "certificates": ("SNE-HUB-R059", certificate_cases),
    "oversize": ("SNE-HUB-R060", oversize_cases),
    "content-type": ("SNE-HUB-R050", content_type_cases),
    "envelope": ("SNE-HUB-R051", envelope_cases),
    "operation": ("SNE-HUB-R052", operation_cases),
    "mtom": ("SNE-HUB-R053", mtom_cases),
    "http": ("SNE-HUB-R054", http_cases),
    "transport": ("SNE-HUB-R055", transport_cases),
}
