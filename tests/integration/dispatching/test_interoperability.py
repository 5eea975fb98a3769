"""Interoperability of dispatching: our two dispatching WSDLs in mainstream SOAP stacks, and counters'
systems written with those stacks receiving the hub's real pushes.

1. the receiver WSDL (the contract counters implement, read from wsdl/) and the pull WSDL (as the hub
   serves it, over HTTPS with a counter's certificate) load in zeep, PHP's SoapClient and node-soap,
   each listing the operation with the parameters the WSDL declares;
2. receivers written with PHP's SoapServer (php/, served by ``php -S``) and node-soap's server
   (node/) get the product dispatcher's pushes over plain http, files inline in base64 (neither stack
   has MTOM), write what they received to a JSON file and acknowledge, refusing one file for good;
3. their SOAP 1.2 faults decide what the hub does next: refuse the delivery for good, or retry it.

PHP, node and node-soap are installed by the Makefile's test setup; the fixtures that find them are
tests/integration/hub/test_interoperability.py's (skipped locally when missing, failed under CI=true).
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
import zeep
from lxml import etree
from zeep.transports import Transport

from core.domain.calendar import now_in_paris
from core.domain.dispatch import ItemStatus
from core.service_layer import dispatching, services
from core.wire import schemas
from core.wire.codec import NS
from dispatching.config import RECEIVER_WSDL
from support.receivers import TlsFront

from ..async_mail.conftest import free_port
from ..hub.conftest import hub, hub_settings  # noqa: F401 - the fixtures: a hub serving the pull WSDL
from ..hub.test_interoperability import WSDL, WSDL_DIR, XS, credentials, node_soap, php, served_wsdl  # noqa: F401 - php, node_soap: the fixtures finding the tools
from .streams import deliver_all, register_household, subscribe

N = f"{{{NS}}}"
HERE = Path(__file__).resolve().parent
PULL = "DispatchDemandeImplService"
ENDPOINT_PATH = "/services/ReceptionDispatchImplService/"
STACKS = ("zeep", "php", "node-soap")
RECEIVER_STACKS = ("php", "node-soap")
START_TIMEOUT = 10  # seconds for a receiver to listen


# ------------------------------------------------------------------------------------------------
# 1. The WSDLs in each stack: the operation and its parameters, as the WSDL declares them
# ------------------------------------------------------------------------------------------------
# Every stack's listing is reduced to one shape: operation -> {"input": fields, "output": fields},
# a field's type by its local name, the fields of a complex type (``dispatch``, ``refus``) nested.


def declared(path: Path) -> dict:
    """What the WSDL file declares, read with lxml."""
    root = etree.parse(str(path)).getroot()
    schema = root.find(f"{{{WSDL}}}types/{{{XS}}}schema")
    sequences = {kind.get("name"): kind.find(f"{{{XS}}}sequence") for kind in schema.findall(f"{{{XS}}}complexType")}
    elements = {element.get("name"): element for element in schema.findall(f"{{{XS}}}element")}
    messages = {message.get("name"): message.find(f"{{{WSDL}}}part").get("element").rpartition(":")[2]
                for message in root.findall(f"{{{WSDL}}}message")}

    def fields(sequence: etree._Element) -> dict:
        found = {}
        for element in sequence.findall(f"{{{XS}}}element"):
            kind = element.get("type").rpartition(":")[2]
            found[element.get("name")] = fields(sequences[kind]) if sequences.get(kind) is not None else kind
        return found

    def message_fields(operation: etree._Element, direction: str) -> dict:
        element = elements[messages[operation.find(f"{{{WSDL}}}{direction}").get("message").rpartition(":")[2]]]
        return fields(element.find(f"{{{XS}}}complexType/{{{XS}}}sequence"))

    return {operation.get("name"): {direction: message_fields(operation, direction)
                                    for direction in ("input", "output")}
            for operation in root.findall(f"{{{WSDL}}}portType/{{{WSDL}}}operation")}


def zeep_listing(client: zeep.Client) -> dict:
    def fields(kind) -> dict | str:
        # ``_value_1``: zeep's name for a simple content (base64Binary with its contentType attribute)
        elements = [(name, element) for name, element in getattr(kind, "elements", []) if name != "_value_1"]
        if not elements:
            return kind.qname.localname
        return {name: fields(element.type) for name, element in elements}

    return {name: {"input": fields(operation.input.body.type), "output": fields(operation.output.body.type)}
            for name, operation in client.service._binding._operations.items()}


def php_listing(output: dict) -> dict:
    """From __getFunctions (``R operation(P $parameters)``) and __getTypes (``struct P { type field; }``)."""
    structs = {match[1]: re.findall(r"(\w+) (\w+);", match[2])
               for match in (re.fullmatch(r"struct (\w+) \{(.*)\}", text, re.S) for text in output["types"]) if match}

    def fields(struct: str) -> dict:  # a struct with a ``_`` field is a simple content (base64Binary)
        return {field: fields(kind) if kind in structs and "_" not in [name for _, name in structs[kind]] else kind
                for kind, field in structs[struct]}

    listing = {}
    for function in output["functions"]:
        answer, operation, parameters = re.fullmatch(r"(\w+) (\w+)\((\w+) \$parameters\)", function).groups()
        listing[operation] = {"input": fields(parameters), "output": fields(answer)}
    return listing


def node_listing(output: dict) -> dict:
    """From client.describe(): ``dispatch[]`` for a list, ``typeChangement|xs:string|CRE,…`` for an enumeration."""
    def fields(described: dict) -> dict:
        return {name.removesuffix("[]"): fields(kind) if isinstance(kind, dict) else
                kind.partition("|")[0].rpartition(":")[2]
                for name, kind in described.items() if name not in ("targetNSAlias", "targetNamespace")}

    return {name: {"input": fields(operation["input"]), "output": fields(operation["output"])}
            for ports in output.values() for operations in ports.values() for name, operation in operations.items()}


def listing(stack: str, request, tmp_path: Path, path: Path, served_by=None) -> dict:
    """What ``stack`` lists for the WSDL: the file at ``path``, or the one the hub ``served_by`` serves
    (over HTTPS, with DEMOB's certificate; node-soap reads the text served, saved to a file)."""
    served = served_by and f"https://localhost:{served_by.port}/services/{path.stem}/"
    own = served_by and credentials(served_by)
    if stack == "zeep":
        if not served:
            return zeep_listing(zeep.Client(str(path)))
        session = requests.Session()
        session.trust_env = False
        session.cert, session.verify = (own.cert, own.key), own.ca
        client = zeep.Client(f"{served}?wsdl", transport=Transport(session=session, timeout=30))
        assert client.service._binding_options["address"] == served
        return zeep_listing(client)
    if stack == "php":
        settings = {"wsdl": str(path)}
        if served:
            pem = tmp_path / "counter.pem"
            pem.write_bytes(Path(own.cert).read_bytes() + Path(own.key).read_bytes())
            pem.chmod(0o600)
            settings = {"wsdl": f"{served}?wsdl", "pem": str(pem), "ca": own.ca}
        return php_listing(run([request.getfixturevalue("php"), str(HERE / "php" / "describe.php"),
                                json.dumps(settings)]))
    if served:
        path = tmp_path / path.name
        path.write_bytes(served_wsdl(served_by, path.stem))
    return node_listing(run(["node", str(HERE / "node" / "describe.js"), str(path)],
                            {"NODE_PATH": str(request.getfixturevalue("node_soap"))}))


def run(command: list[str], environment: dict | None = None) -> dict:
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False,
                            env={**os.environ, **(environment or {})})
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_the_wsdls_declare_what_the_contract_says():
    """The reference the stacks are compared with, pinned once: a change to a WSDL shows here first."""
    dispatch = {"sequence": "long", "typeChangement": "typeChangement", "numUnique": "string", "version": "int",
                "dateChangement": "dateTime", "guichetOrigine": "string", "nomFichier": "string",
                "fichierDis": "base64Binary"}
    assert declared(RECEIVER_WSDL) == {"recevoirDispatch": {
        "input": {"idLivraison": "string", "guichet": "string", "abonnement": "long", "derniereSequence": "long",
                  "dispatch": dispatch},
        "output": {"idLivraison": "string", "refus": {"sequence": "long", "code": "string", "message": "string"}}}}
    assert declared(WSDL_DIR / f"{PULL}.wsdl") == {"getDispatchDepuis": {
        "input": {"curseur": "long", "abonnement": "long", "nombreMax": "int"},
        "output": {"guichet": "string", "abonnement": "long", "derniereSequence": "long", "complet": "boolean",
                   "dispatch": dispatch}}}


@pytest.mark.parametrize("stack", STACKS)
def test_the_receiver_wsdl_loads_with_its_operation_and_parameters(stack, request, tmp_path):
    assert listing(stack, request, tmp_path, RECEIVER_WSDL) == declared(RECEIVER_WSDL)


@pytest.mark.parametrize("stack", STACKS)
def test_the_pull_wsdl_the_hub_serves_loads_with_its_operation_and_parameters(hub, stack, request,  # noqa: F811
                                                                              tmp_path):
    path = WSDL_DIR / f"{PULL}.wsdl"
    assert listing(stack, request, tmp_path, path, hub) == declared(path)


# ------------------------------------------------------------------------------------------------
# 2. and 3. Receivers written with PHP and node-soap, pushed to by the product's dispatcher
# ------------------------------------------------------------------------------------------------


@dataclass
class CounterSystem:
    """A receiver of another stack on 127.0.0.1, over plain http behind a TLS front (as a counter puts
    its PHP or node application behind nginx: the hub only pushes over https). It reads its settings
    file at every request (``behave`` rewrites it) and appends each delivery it gets to its JSON journal."""

    port: int
    settings: Path
    journal: Path
    log: Path
    process: subprocess.Popen | None = None
    front: TlsFront | None = None

    @property
    def endpoint(self) -> str:
        return f"https://localhost:{self.front.port}{ENDPOINT_PATH}"

    def behave(self, refuse: dict[str, tuple[str, str]] | None = None, fault: dict | None = None) -> None:
        """``refuse``: numUnique -> (code, message) of the refusal; ``fault``: code, reessayer, message."""
        self.settings.write_text(json.dumps({"wsdl": str(RECEIVER_WSDL), "journal": str(self.journal),
                                             "refuse": refuse or {}, "fault": fault}))

    def received(self) -> list[dict]:
        return json.loads(self.journal.read_text()) if self.journal.exists() else []

    def stop(self) -> None:
        self.front.stop()
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def counter_systems(request, tmp_path):
    """``counter_systems(stack)``: a running receiver written with ``stack`` (php or node-soap)."""
    started: list[CounterSystem] = []

    def start(stack: str) -> CounterSystem:
        directory = tmp_path / f"{stack}-{len(started)}"
        directory.mkdir()
        port = free_port()
        settings, log = directory / "settings.json", directory / "receiver.log"
        if stack == "php":
            command = [request.getfixturevalue("php"), "-S", f"127.0.0.1:{port}", "router.php"]
            environment, cwd = {"RECEIVER_SETTINGS": str(settings)}, HERE / "php"
        else:
            command = ["node", str(HERE / "node" / "receiver.js"), str(settings), str(port)]
            environment, cwd = {"NODE_PATH": str(request.getfixturevalue("node_soap"))}, HERE / "node"
        pki = request.getfixturevalue("pki")
        certificates = Path(pki["directory"])
        front = TlsFront(("127.0.0.1", port), certificates / "server-cert.pem", certificates / "server-key.pem",
                         certificates / "ca.pem")
        system = CounterSystem(port, settings, directory / "received.json", log, front=front)
        system.behave()
        with log.open("wb") as output:
            process = system.process = subprocess.Popen(command, cwd=cwd, env={**os.environ, **environment},
                                                        stdout=output, stderr=subprocess.STDOUT)
        started.append(system)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return system
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the {stack} receiver did not start: {log.read_text()}")
                time.sleep(0.05)

    yield start
    for system in started:
        system.stop()


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))  # node-soap gives dates in UTC, with a Z


@pytest.mark.parametrize("stack", RECEIVER_STACKS)
def test_a_receiver_of_another_stack_gets_valid_dis_files_and_refuses_one_for_good(register, dispatcher,
                                                                                   counter_systems, stack):
    system = counter_systems(stack)
    subscription = subscribe(register, "DEMOB", system.endpoint, mtom=False)  # no MTOM in PHP nor node-soap
    first, second = register_household(register, index=1), register_household(register, index=2)
    services.update(register(), first.number, replace(first.form, details="Précision mise à jour"), "DEMOC",
                    now_in_paris())
    reason = ("DOUBLON", f"demande {second.number} déjà connue sous un autre numéro")
    system.behave(refuse={str(second.number): reason})

    assert deliver_all(dispatcher) == ["delivered"], system.log.read_text()

    [delivery] = system.received()
    batch = f"S{subscription.id}-0000000001-0000000003"
    assert (delivery["idLivraison"], delivery["guichet"], delivery["abonnement"], delivery["derniereSequence"]) == \
        (batch, "DEMOB", subscription.id, 3)
    got = delivery["dispatch"]
    assert [(item["sequence"], item["typeChangement"], item["numUnique"], item["version"], item["guichetOrigine"])
            for item in got] == [(1, "CRE", str(first.number), 1, "DEMOC"), (2, "CRE", str(second.number), 1, "DEMOC"),
                                 (3, "MOD", str(first.number), 2, "DEMOC")]
    dis_schema = schemas.load(schemas.APPLICATION_FILES["02.01"])
    for item in got:
        file = etree.fromstring(base64.b64decode(item["fichierDis"], validate=True))
        assert schemas.errors(dis_schema, file) == [], item["nomFichier"]
        assert file.get("versionInterface") == "02.01"
        assert file.findtext(f"{N}entete/{N}typeFichier") == "DIS"
        demand = file.find(f"{N}demande/{N}demandeLogement")
        assert demand.findtext(f"{N}numUnique") == item["numUnique"]
        assert demand.findtext(f"{N}numGuichet") == "DEMOB"  # addressed to the receiving counter
        assert demand.findtext(f"{N}incrementFichier") == str(item["version"])
        assert re.fullmatch(rf"DISDEMOB-\d{{12}}-{item['sequence']}\.xml", item["nomFichier"])

    [refused] = dispatching.items(register(readonly=True), subscription.id, [ItemStatus.REFUSED])
    assert (refused.sequence, refused.number, refused.batch) == (2, str(second.number), batch)
    assert refused.error == " : ".join(reason)
    delivered = dispatching.items(register(readonly=True), subscription.id, [ItemStatus.DELIVERED])
    assert [item.sequence for item in delivered] == [1, 3]
    for stored, item in zip(sorted(delivered + [refused], key=lambda i: i.sequence), got):
        assert abs(instant(item["dateChangement"]) - stored.at) < timedelta(milliseconds=1)  # node-soap: ms


# What a receiver's fault makes the hub do: the detail's ``reessayer`` decides; without a detail,
# SOAP 1.2's code does (a Sender fault is the message's: sending it again would not help).
FAULTS = [  # stack, SOAP 1.2 code, reessayer in the detail (None: no detail), the dispatcher's word
    ("php", "Sender", False, "refused"),
    ("php", "Receiver", True, "retry"),
    ("php", "Receiver", False, "refused"),  # the detail decides, whatever the code
    ("php", "Sender", True, "retry"),
    ("php", "Sender", None, "refused"),
    ("node-soap", "Receiver", False, "refused"),
    ("node-soap", "Sender", True, "retry"),
    ("node-soap", "Receiver", None, "retry"),
]


@pytest.mark.parametrize("stack, code, retry, word", FAULTS,
                         ids=[f"{stack}-{code}-{retry}".lower() for stack, code, retry, _ in FAULTS])
def test_a_receiver_fault_refuses_the_delivery_or_has_it_retried(register, dispatcher, counter_systems, stack, code,
                                                                 retry, word):
    system = counter_systems(stack)
    message = f"{code} : le système du guichet ne peut pas prendre cette livraison"
    system.behave(fault={"code": code, "reessayer": retry, "message": message})
    subscription = subscribe(register, "DEMOB", system.endpoint, mtom=False)
    application = register_household(register)

    assert deliver_all(dispatcher) == [word], system.log.read_text()
    assert system.received() == []
    later = now_in_paris() + timedelta(seconds=5)  # past the retry schedule's next delay (1 s)
    if word == "refused":
        [item] = dispatching.items(register(readonly=True), subscription.id, [ItemStatus.REFUSED])
        assert (item.number, item.error) == (str(application.number), f"refus du récepteur : {message}")
        system.behave()
        assert dispatcher.deliver_once("test", now=later) is None  # never sent again
        assert system.received() == []
    else:
        [item] = dispatching.items(register(readonly=True), subscription.id, [ItemStatus.PENDING])
        system.behave()  # the counter's system is back
        assert dispatcher.deliver_once("test", now=later) == "delivered"
        [delivery] = system.received()
        assert delivery["idLivraison"] == item.batch  # the same delivery, under the same id
        assert [entry["numUnique"] for entry in delivery["dispatch"]] == [str(application.number)]
