"""The hostile profile's requirements: id -> the sentence docs/INTERFACES.md states (verbatim).

Each is checked by a family of cases (cases.py); every case must also leave the hub serving (its
WSDL, and the application the profile registered first) and never return content of /etc/passwd.
"""

REQUIREMENTS: dict[str, str] = {
    "SNE-HUB-R050": "A request whose Content-Type is not SOAP 1.2 (`application/soap+xml`) or MTOM "
                    "(`multipart/related` of `application/xop+xml`) is the fault `HUB-CONTENT-TYPE` (HTTP 415), "
                    "or `SOAP-VERSION` for SOAP 1.1's `text/xml`.",
    "SNE-HUB-R051": "A body that is not one SOAP 1.2 envelope with one message in its Body is the fault "
                    "`XML-MALFORME`, `SOAP-ENVELOPPE` (HTTP 400) or, for a SOAP 1.1 envelope, `SOAP-VERSION` "
                    "with the Code `VersionMismatch` (HTTP 500).",
    "SNE-HUB-R052": "A message that is not exactly an input element of the service called (name, namespace, "
                    "service) is the fault `SOAP-OPERATION` (HTTP 400).",
    "SNE-HUB-R053": "An MTOM request that cannot be split unambiguously (boundary, parts, part headers, "
                    "`xop:Include` references, transfer encodings, more than 16 parts) is the fault "
                    "`MTOM-INVALIDE`, `MTOM-PART-MANQUANTE`, `MTOM-ENCODAGE` (HTTP 400) or `HUB-CONTENT-TYPE` "
                    "(HTTP 415); a legitimate odd one is served.",
    "SNE-HUB-R054": "A method other than POST on a service (but `GET ?wsdl`) is the fault `HUB-METHODE` "
                    "(HTTP 405); a path outside the services, or a Host header that is not a host, gets a plain "
                    "404 or 400 without any SOAP processing.",
    "SNE-HUB-R055": "Odd HTTP framing is served when legitimate (chunked bodies, one-byte TLS records, "
                    "`Content-Encoding: identity`) and refused otherwise (a plain 400, `XML-MALFORME`, or no "
                    "answer to what is not HTTP over TLS).",
    "SNE-HUB-R056": "XML with a DTD, in the envelope, the MTOM root part or any interface file (application, "
                    "duplicates, DALO, search), is the fault `XML-DTD` (HTTP 400), whatever it declares: external "
                    "or parameter entities, expansions, or nothing at all; no entity is ever resolved.",
    "SNE-HUB-R057": "XML nested deeper than 64 levels, in the envelope, a header, the MTOM root part or an interface "
                    "file, is the fault `XML-PROFONDEUR` (HTTP 400); a message at the limit or wide but shallow "
                    "is the fault `SOAP-MESSAGE` (HTTP 400).",
    "SNE-HUB-R058": "An applicant's name that does not begin with a letter or holds control or invisible characters ("
                    "tab, line break, zero-width, bidirectional override, byte order mark, no-break space) gets the anomaly `NUU103` on that name, and no number.",
    "SNE-HUB-R059": "A request without a client certificate is the fault `HUB-CERTIFICAT` (HTTP 403) before its "
                    "body is read, whatever headers claim a certificate; a certificate from an authority the hub "
                    "does not trust is refused in the TLS handshake.",
    "SNE-HUB-R060": "A body above the hub's size bound, announced by `Content-Length` or sent chunked, is the "
                    "fault `HUB-TAILLE` (HTTP 413), with or without a client certificate; a text node beyond the "
                    "XML parser's limit is `XML-MALFORME`, an oversized value the message or file schema refuses.",
}
