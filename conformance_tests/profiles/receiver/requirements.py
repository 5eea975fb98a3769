"""The receiver profile's requirements: id -> the sentence docs/INTERFACES.md states (verbatim)."""

REQUIREMENTS: dict[str, str] = {
    "SNE-HUB-R300": "A delivery of valid DIS files inline in base64 is acknowledged with a SOAP 1.2 "
                    "`recevoirDispatchReponse`, valid against the WSDL's schema, carrying its `idLivraison` and no `refus`.",
    "SNE-HUB-R301": "A delivery of 100 files (the most the hub sends at once) is acknowledged within the hub's "
                    "timeout (30 s by default), in an answer of at most 1 MB.",
    "SNE-HUB-R303": "Changes that carry no file (`SUP`, `EVT`) are acknowledged without `refus`.",
    "SNE-HUB-R305": "An oversize delivery (32 MiB) is refused whole with a SOAP 1.2 fault the hub does not "
                    "retry (the body read and discarded, not the connection dropped), and the next delivery is "
                    "acknowledged.",
    "SNE-HUB-R310": "A delivery whose files are MTOM parts (`xop:Include`, raw `text/xml`) is acknowledged "
                    "without `refus`: the files are read from their parts.",
    "SNE-HUB-R320": "A DIS file that breaks the InterfaceNuu 02.01 schema is refused for good by its "
                    "`sequence` in a `refus` of the acknowledgement, and the delivery's other files are not.",
    "SNE-HUB-R330": "A request without a client certificate is refused (in the TLS handshake, or by an answer "
                    "that is no acknowledgement), while the kit's certificate is accepted.",
    "SNE-HUB-R331": "A client certificate from an authority the receiver was not told to trust is refused.",
    "SNE-HUB-R332": "An expired client certificate from the trusted authority is refused.",
    "SNE-HUB-R340": "A delivery sent again with the same `idLivraison` is acknowledged again, with the same "
                    "`refus` as the first time (applied once: the receiver keeps the ids it applied).",
    "SNE-HUB-R341": "A delivery whose answer the hub stopped waiting for (the kit hangs up once it is sent) "
                    "is acknowledged when the hub sends it again at once.",
    "SNE-HUB-R350": "A delivery after a gap in the sequence (items the stream skipped, `derniereSequence` "
                    "above the last item) is acknowledged without `refus`: the stream goes on.",
    "SNE-HUB-R360": "A body that is not well-formed XML is a SOAP 1.2 fault the hub does not retry "
                    "(`reessayer` false, or a `Sender` code without detail).",
    "SNE-HUB-R361": "A message that breaks the WSDL's schema (an `abonnement` that is not a number) is a "
                    "SOAP 1.2 fault the hub does not retry.",
    "SNE-HUB-R362": "A fault's detail, when there is one, is a `recevoirDispatchException` in the service's "
                    "namespace, valid against the WSDL's schema (the hub reads `reessayer` there).",
}
