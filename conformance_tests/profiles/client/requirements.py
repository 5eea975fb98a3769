"""The client profile's requirements: what a counter's software must do when it calls the SNE."""

REQUIREMENTS: dict[str, str] = {
    "SNE-HUB-R200": "Every request of the client is an HTTP POST whose body is delimited by exactly one of "
                    "Content-Length or the chunked transfer coding.",
    "SNE-HUB-R201": "Every request of the client is SOAP 1.2 (application/soap+xml) or MTOM (multipart/related "
                    "with type=\"application/xop+xml\", start and start-info=\"application/soap+xml\"), with an "
                    "action parameter that names the operation its body calls.",
    "SNE-HUB-R202": "In every MTOM request of the client the root part is the one start names, every xop:Include "
                    "resolves to a part of the message and no part is left unreferenced.",
    "SNE-HUB-R203": "Every request of the client comes over TLS with a client certificate that chains to the "
                    "counter's certification authority.",
    "SNE-HUB-R204": "Every file the client sends is valid against the interface's XSD.",
    "SNE-HUB-R205": "The client sends every scenario the kit lists, each with the operation, file type and "
                    "registration number the scenario expects.",
    "SNE-HUB-R206": "After a registration (CRE) answered by a fault, the client searches for the household "
                    "before it sends the registration again.",
    "SNE-HUB-R207": "After a RET file with anomalies, the client does not take the file as registered: it sends "
                    "a corrected file.",
    "SNE-HUB-R208": "After a RET file listing probable duplicates, the client sends the registration again with "
                    "forcerDoublon set to true.",
}
