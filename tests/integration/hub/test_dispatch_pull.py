"""getDispatchDepuis over HTTPS: a counter's system back from an outage catches up by itself."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
import requests
import zeep
from lxml import etree
from zeep.transports import Transport

from core import demo
from core.domain.calendar import now_in_paris
from core.domain.dispatch import Channel, Filter
from core.service_layer import dispatching, services
from core.wire import schemas
from core.wire.codec import NS
from core.wire.dispatch import stored_file
from dispatching.config import DispatchSettings
from dispatching.receiver import FileStore
from dispatching.worker import Dispatcher
from support.receivers import start_receiver

SERVICE = "DispatchDemandeImplService"
N = f"{{{NS}}}"


def pull(hub, counter: str, cursor: int, mtom: bool = True, **options):
    fields = [("curseur", str(cursor))] + [(name, str(value)) for name, value in options.items()]
    return hub.client(counter).call(SERVICE, "getDispatchDepuis", "dispatchDepuisParametres", fields, mtom=mtom)


def changes(hub, count: int, counter: str = "DEMOC") -> list[str]:
    numbers = []
    for index in range(count):
        form = demo.household_form("Leroy", f"P{index}", date(1970, 1, 1 + index))
        numbers.append(str(services.register(hub.unit_of_work(), form, now_in_paris().date(), counter,
                                             now_in_paris()).number))
    dispatching.fan_out(hub.unit_of_work(), now_in_paris(), stored_file)
    return numbers


@pytest.mark.parametrize("mtom", [True, False], ids=["mtom", "inline"])
def test_a_counter_pulls_its_stream_page_by_page(hub, mtom):
    subscription = dispatching.subscribe(hub.unit_of_work(), "DEMOB", Channel.PULL, Filter(), now_in_paris())
    numbers = changes(hub, 3)
    first = pull(hub, "DEMOB", 0, mtom, nombreMax=2)
    assert first.status == 200, first.body[:500]
    assert (first.text("guichet"), first.text("abonnement")) == ("DEMOB", str(subscription.id))
    assert (first.text("derniereSequence"), first.text("complet")) == ("3", "false")
    items = first.envelope.findall(".//dispatch")
    assert [(i.findtext("sequence"), i.findtext("typeChangement"), i.findtext("numUnique")) for i in items] == \
        [("1", "CRE", numbers[0]), ("2", "CRE", numbers[1])]
    dis = etree.fromstring(first.field("fichierDis"))
    assert schemas.errors(schemas.load(schemas.APPLICATION_FILES["02.01"]), dis) == []
    assert dis.findtext(f"{N}demande/{N}demandeLogement/{N}numGuichet") == "DEMOB"
    rest = pull(hub, "DEMOB", 2, mtom)
    assert rest.text("complet") == "true" and [i.findtext("sequence") for i in rest.envelope.findall(".//dispatch")] \
        == ["3"]


def test_pulling_without_a_subscription_is_refused_with_its_code(hub):
    reply = pull(hub, "DEMOC", 0)
    assert reply.status == 400 and reply.fault_code == "NUU193"


def test_a_counter_never_pulls_another_counters_stream(hub):
    other = dispatching.subscribe(hub.unit_of_work(), "DEMOE", Channel.PULL, Filter(), now_in_paris())
    dispatching.subscribe(hub.unit_of_work(), "DEMOB", Channel.PULL, Filter(), now_in_paris())
    changes(hub, 1)
    reply = pull(hub, "DEMOB", 0, abonnement=other.id)
    assert reply.fault_code == "NUU193"


def test_zeep_reads_the_served_description_and_pulls(hub):
    dispatching.subscribe(hub.unit_of_work(), "DEMOB", Channel.PULL, Filter(), now_in_paris())
    [number] = changes(hub, 1)
    entry = hub.pki["counters"]["DEMOB"]
    session = requests.Session()
    session.trust_env = False
    session.cert, session.verify = (entry["cert"], entry["key"]), hub.pki["ca"]["cert"]
    client = zeep.Client(f"https://localhost:{hub.port}/services/{SERVICE}/?wsdl",
                         transport=Transport(session=session))
    answer = client.service.getDispatchDepuis(curseur=0)
    assert answer.complet is True and [(d.numUnique, d.typeChangement) for d in answer.dispatch] == [(number, "CRE")]
    dis = answer.dispatch[0].fichierDis._value_1  # base64Binary with an optional contentType: zeep's compound
    assert etree.fromstring(dis).findtext(f"{N}entete/{N}typeFichier") == "DIS"


# -- what docs/DISPATCHING.md tells integrators ------------------------------------------------------

ROOT = Path(__file__).resolve().parents[3]


def documented(document: str, name: str) -> str:
    text = (ROOT / "docs" / document).read_text()
    return re.search(rf"<!-- example:{name} -->\n```sh\n(.*?)```", text, re.S).group(1)


def run_example(hub, script: str, cwd: Path, **environment) -> subprocess.CompletedProcess:
    script = script.replace("docs/examples", str(ROOT / "docs" / "examples"))
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "HUB": f"https://localhost:{hub.port}",
                                           "DEMO": str(hub.pki["directory"]), **environment})


def test_the_documented_pull_example_works(hub, tmp_path):
    dispatching.subscribe(hub.unit_of_work(), "DEMOB", Channel.PULL, Filter(), now_in_paris())
    numbers = changes(hub, 2)
    result = run_example(hub, documented("DISPATCHING.md", "getDispatchDepuis"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"<sequence>{index}</sequence><typeChangement>CRE</typeChangement><numUnique>{number}</numUnique>"
        for index, number in enumerate(numbers, start=1)]


def test_registering_at_the_municipality_reaches_the_landlords_system(hub, tmp_path):
    """The worked example of docs/DISPATCHING.md: the curl example of INTERFACES.md with COUNTER=DEMOC,
    then the DIS file in the landlord's system (the reference receiver writing files, as in the demo)."""
    directory = Path(hub.pki["directory"])
    received = tmp_path / "DEMOB" / "dispatch"
    receiver = start_receiver(hub.pki, store=FileStore(received))
    try:
        dispatching.set_endpoint(hub.unit_of_work(), "DEMOB", receiver.endpoint)
        dispatching.subscribe(hub.unit_of_work(), "DEMOB", Channel.SOAP, Filter(), now_in_paris())
        result = run_example(hub, documented("INTERFACES.md", "getNumUnique"), tmp_path, COUNTER="DEMOC")
        assert result.returncode == 0, result.stderr
        number = re.fullmatch(r"<ns2:numUnique>(\w{18})</ns2:numUnique>\n", result.stdout).group(1)
        settings = DispatchSettings(client_certificate=directory / "hub-client-cert.pem",
                                    client_key=directory / "hub-client-key.pem", trusted=directory / "ca.pem")
        dispatcher = Dispatcher(hub.unit_of_work, settings, notices=False)
        dispatcher.fan_out_once()
        assert dispatcher.deliver_once("documentation") == "delivered"
    finally:
        receiver.stop()
    assert [path.name for path in sorted(received.glob("*.xml"))] == [f"00000001-CRE-{number}-v1.xml"]
