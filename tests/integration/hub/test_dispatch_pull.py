"""getDispatchDepuis over HTTPS: a counter's system back from an outage catches up by itself."""

from __future__ import annotations

from datetime import date

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
