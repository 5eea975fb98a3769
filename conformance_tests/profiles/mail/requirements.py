"""The ``mail`` profile's requirements (R400-R499): the signed mail channel of docs/MAIL.md, as a counter
sees it on the wire."""

REQUIREMENTS = {
    "SNE-HUB-R400": "A signed and encrypted mail carrying a registration file is answered by one mail from the "
                    "hub to the counter's mailbox, In-Reply-To the counter's Message-ID, encrypted to the "
                    "counter's certificate and signed by the hub's certificate.",
    "SNE-HUB-R401": "The answer to a registration file holds the answer file named after it (RET for DEM) with "
                    "the application's unique number.",
    "SNE-HUB-R402": "The same signed content sent again under a new Message-ID is a replay: nothing is processed "
                    "twice and the original answer is sent again, with the same number.",
    "SNE-HUB-R403": "A counter's Message-ID used again with other content is refused with a signed answer giving "
                    "MAIL-ID-REUTILISE and no answer file.",
    "SNE-HUB-R404": "A signed mail carrying no file (a null flow) is refused with a signed answer giving "
                    "MAIL-FICHIERS and no answer file.",
    "SNE-HUB-R405": "A file part without a file name is refused with a signed answer giving MAIL-NOM-ABSENT and "
                    "no answer file.",
    "SNE-HUB-R406": "A mail whose signed content was altered after signing is refused without any answer.",
    "SNE-HUB-R407": "A mail signed by a certificate no trusted authority issued is refused without any answer.",
    "SNE-HUB-R408": "A signed mail that is not encrypted is refused without any answer, encryption being "
                    "required in production.",
    "SNE-HUB-R409": "A mail that is not readable MIME is refused without any answer.",
    "SNE-HUB-R410": "The hub's SMTP listener refuses at RCPT a recipient other than its exchange addresses.",
}
