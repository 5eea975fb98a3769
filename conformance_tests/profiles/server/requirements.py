"""The server profile's requirements: id -> the sentence docs/INTERFACES.md states (verbatim)."""

REQUIREMENTS: dict[str, str] = {
    "SNE-HUB-R100": "Each service serves its WSDL at `?wsdl`: a document/literal SOAP 1.2 binding whose "
                    "`soap12:address` is the service's own address.",
    "SNE-HUB-R101": "The schema a WSDL embeds is a valid XSD and declares every element its messages use.",
    "SNE-HUB-R105": "Every interface file the hub answers (RET, `listeDoublons`, search answers) is valid "
                    "against the interface's XSD.",
    "SNE-HUB-R110": "`getNumUnique` with a `CRE` file of a new household answers a `RET` file with the "
                    "`numUnique` and the filing date, and the attestation PDF.",
    "SNE-HUB-R111": "A `MOD` file replaces the application and the answer carries the change and a higher "
                    "`incrementFichier`.",
    "SNE-HUB-R112": "A `REN` file before the renewal period is refused with the anomaly `NUU140` in the `RET` file.",
    "SNE-HUB-R113": "A `RAD` file cancels the application with each motive a counter may record (`RADABA`, "
                    "`RADIRR`, `RADCON`, `RADATT`); `RADREN` is the register's own and refused to a counter.",
    "SNE-HUB-R114": "A second `CRE` for the same household gets the anomaly `NUU120` and the first number in "
                    "`listeDoublons`, without a number; with `forcerDoublon` it gets a new number.",
    "SNE-HUB-R115": "A `RAD` file whose `motifRadiation` has no code reactivates an application cancelled for "
                    "lack of contact (`RADCON`).",
    "SNE-HUB-R116": "A `SUP` file from the counter that registered an application deletes it: reading it is then "
                    "the fault `NUU111`.",
    "SNE-HUB-R120": "`getDemandeLogement` answers the application as a `RET` file.",
    "SNE-HUB-R121": "`getDemandeLogement` of a number the register never issued is the fault `NUU111`.",
    "SNE-HUB-R122": "`getDoublons` names the probable duplicates of a file in `listeDoublons`, and none for a "
                    "new household.",
    "SNE-HUB-R123": "A State counter's `getDeclarationNouveauDalo` makes the DALO status `ACTIF`, and "
                    "`getNouveauxDaloDepuisLe` then lists the application.",
    "SNE-HUB-R124": "`getDemandesRadieesDepuisLe` lists the applications cancelled since a moment, oldest "
                    "first, and no active one.",
    "SNE-HUB-R130": "`rechercheDemandeMulticritere` finds the territory's applications by name, active (`A`) "
                    "or cancelled (`R`) as `etatDemande` asks.",
    "SNE-HUB-R131": "A search page holds at most 500 numbers, a full one carries `RECH-SUITE`, and the next "
                    "page starts right after the number sent in `listeDemandes`.",
    "SNE-HUB-R140": "A counter of another territory cannot read (fault `NUU181`), change (anomaly `NUU181`) "
                    "or find an application.",
    "SNE-HUB-R150": "A body that is not XML is the fault `XML-MALFORME` (HTTP 400).",
    "SNE-HUB-R151": "XML that is not a SOAP 1.2 envelope with one message in its Body is the fault "
                    "`SOAP-ENVELOPPE` (HTTP 400).",
    "SNE-HUB-R152": "A message naming no operation of the service is the fault `SOAP-OPERATION` (HTTP 400).",
    "SNE-HUB-R153": "A file that breaks its XSD is the fault `FICHIER-XSD` (HTTP 400).",
    "SNE-HUB-R154": "A SOAP 1.1 request (`text/xml`) is the fault `SOAP-VERSION` (HTTP 415).",
    "SNE-HUB-R160": "An MTOM request is answered in MTOM, the answer file as a raw XML part.",
    "SNE-HUB-R161": "A request with its files inline in base64 is answered inline (`application/soap+xml`).",
    "SNE-HUB-R170": "A call without a client certificate is refused: in the TLS handshake, or with the fault "
                    "`HUB-CERTIFICAT` (HTTP 403).",
    "SNE-HUB-R180": "`listerTypesEvenementsNationaux` lists the decree's event types.",
    "SNE-HUB-R181": "An event added to an application (`ajouterEvenementDemande`) gets an `idEvenement`, is listed "
                    "(`listerEvenementsDemande`), changed (`MOD`) and deleted (`SUP`).",
    "SNE-HUB-R190": "zeep (Python) loads the WSDL each SNE service serves, with the hub's address and every "
                    "operation, registers and reads an application, calls a shared-management operation by its "
                    "action and finds a refusal's stable code in the fault's Subcode.",
    "SNE-HUB-R191": "node-soap (JavaScript) lists the operations of the served WSDL, reads an application, calls "
                    "a shared-management operation by its action and finds a refusal's stable code in the fault's "
                    "Subcode.",
    "SNE-HUB-R192": "PHP's SoapClient loads the WSDL the hub serves, reads an application, calls a "
                    "shared-management operation by its action and gets a refusal's stable code.",
    "SNE-HUB-R193": "libsne, the client a software vendor wrote against the real SNE, registers and reads an "
                    "application with its own MTOM requests and headers, reads the answer files its way, and "
                    "shows a refusal's stable code.",
}
