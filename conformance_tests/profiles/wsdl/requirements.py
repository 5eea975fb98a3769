"""The wsdl profile's requirements: id -> the sentence docs/INTERFACES.md states (verbatim)."""

REQUIREMENTS: dict[str, str] = {
    "SNE-HUB-R001": "Every description file is well-formed XML without a DTD, a WSDL 1.1 `wsdl:definitions` or "
                    "an XSD `xs:schema`.",
    "SNE-HUB-R002": "Every import and include a description names (`wsdl:import`, `xs:import`, `xs:include`, "
                    "`xs:redefine`) with a location resolves to a readable document (WS-I BP R2007).",
    "SNE-HUB-R003": "Every binding is a SOAP 1.2 binding (`soap12:binding`) whose transport is HTTP "
                    "(WS-I BP R2701, R2702).",
    "SNE-HUB-R004": "Every binding is document style and every `soap12:body` is `use=\"literal\"` without a "
                    "`namespace` attribute (WS-I BP R2705, R2706, R2716).",
    "SNE-HUB-R005": "No description uses `encodingStyle` (WS-I BP R1005, R1006, R1007).",
    "SNE-HUB-R006": "Every message has at most one part, and each part names an element, not a type "
                    "(WS-I BP R2201, R2204).",
    "SNE-HUB-R007": "Every operation of a binding declares its `soapAction`: some SNE services tell their "
                    "operations apart by it.",
    "SNE-HUB-R008": "The operations of a binding differ by the element their input carries (WS-I BP R2710); "
                    "where the ministry's reference imposes otherwise, the kit reports a known deviation.",
    "SNE-HUB-R009": "Every binding's port type, every port's binding and every operation's message resolves to "
                    "a definition of the set, and a binding has the operations of its port type (WS-I BP R2718).",
    "SNE-HUB-R010": "Every `xs:schema` of a WSDL's `wsdl:types` has a `targetNamespace` (WS-I BP R2105).",
    "SNE-HUB-R020": "Every XSD of the set, standalone or in a WSDL's `wsdl:types`, compiles with xmlschema.",
    "SNE-HUB-R021": "Every element a message part names is declared by a schema of the set.",
    "SNE-HUB-R030": "On every document of the kit's corpus, each XSD file of the set gives the same verdict "
                    "(valid or invalid) as the reference XSD file of the same name.",
    "SNE-HUB-R031": "Each of the interface's reference XSD files (applications 02.00 and 02.01, duplicates, search, "
                    "shared management events and event types) has a file of the same name in the set.",
}
