"""Interoperability: requests built the way existing SNE clients build them, and mainstream SOAP stacks.

1. libsne (the vendor client in the libsne 0.1.0a8 sdist) builds, sends and reads with its own code;
2. zeep (Python) loads our WSDL from the hub and calls it;
"""

from __future__ import annotations

import base64
import http.client
import importlib
import ssl
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from lxml import etree

from core.wire.codec import NS
from tests import reference
from tests.conftest import in_ci

from .files import DEMANDE, interface_file, person

N = f"{{{NS}}}"
SERVICES_NS = "http://ws.metier.nuu.application.i2/"


# ------------------------------------------------------------------------------------------------
# 1. libsne
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def libsne():
    """libsne's module, imported from the cached sdist (its schema lies next to it, in ressources/)."""
    try:
        package = reference.libsne_package_dir()
    except reference.ReferenceUnavailable as error:
        if in_ci():
            pytest.fail(f"{error} (CI=true requires libsne)", pytrace=False)
        pytest.skip(str(error))
    root = str(package.parent)
    sys.path.insert(0, root)
    try:
        module = importlib.import_module("libsne.libsne")
        yield module
    finally:
        sys.path.remove(root)
        for name in [name for name in sys.modules if name == "libsne" or name.startswith("libsne.")]:
            del sys.modules[name]


class Wire:
    """What libsne put on the wire: one entry per request (method, path, headers, body)."""

    def __init__(self):
        self.requests: list[SimpleNamespace] = []

    @property
    def last(self) -> SimpleNamespace:
        return self.requests[-1]


@pytest.fixture
def vendor(libsne, hub, monkeypatch):
    """libsne, pointed at the hub with a counter's certificate, everything else its own code.

    libsne opens ``httplib.HTTPSConnection(hostname, cert_file=..., key_file=...)``, an API that
    Python 3.12 removed (3.11 warns): the stand-in below takes the same arguments and opens the same
    connection with an SSLContext (the hub's CA, the counter's certificate). Body, headers (its
    Content-Type with start="soaproot", boundary MIME_BOUNDARY and action, and its Host header, which
    names the ministry's host) and the reading of the answer are libsne's own.
    """
    wire = Wire()
    ca = Path(hub.pki["ca"]["cert"])

    class HTTPSConnection(http.client.HTTPSConnection):
        def __init__(self, host, cert_file=None, key_file=None):
            context = ssl.create_default_context(cafile=str(ca))
            if cert_file:
                context.load_cert_chain(cert_file, key_file)
            super().__init__(host, context=context, timeout=30)

        def request(self, method, url, body=None, headers=None, **kwargs):
            wire.requests.append(SimpleNamespace(method=method, path=url, headers=dict(headers or {}), body=body))
            super().request(method, url, body=body, headers=headers or {}, **kwargs)

    monkeypatch.setattr(libsne, "httplib", SimpleNamespace(HTTPSConnection=HTTPSConnection,
                                                           HTTPResponse=http.client.HTTPResponse))

    def send(service: str, counter: str = "DEMOB", **kwargs) -> str:
        """libsne's ConnexionServeur.https to the hub; the raw answer, decoded as libsne decodes it."""
        entry = hub.pki["counters"][counter]
        response = libsne.ConnexionServeur.https(service, entry["cert"], entry["key"], f"localhost:{hub.port}",
                                                 **kwargs)
        assert response.status == 200, response.read()[:2000]
        return response.read().decode()

    return SimpleNamespace(module=libsne, wire=wire, send=send,
                           echanger=lambda service, counter="DEMOB", **kwargs: libsne.echanger(
                               service, hub.pki["counters"][counter]["cert"], hub.pki["counters"][counter]["key"],
                               f"localhost:{hub.port}", **kwargs))


def test_libsne_registers_a_file_and_reads_the_answer(vendor):
    file = interface_file("DEMOB", form=person(41))
    text = vendor.send("numUnique", xml=file.decode("ascii"))
    print(vendor.wire.last.headers)
    print(text[:3000])
    analysis = vendor.module.AnalyseReponse("numUnique", text)
    analysis.anomalies()
    print(analysis.get_demande()[:500])


def test_zeep_explore(hub):
    import requests
    import zeep
    from zeep.transports import Transport
    session = requests.Session()
    entry = hub.pki["counters"]["DEMOB"]
    session.cert = (entry["cert"], entry["key"])
    session.verify = str(hub.pki["ca"]["cert"])
    session.trust_env = False
    client = zeep.Client(f"https://localhost:{hub.port}/services/{DEMANDE}/?wsdl", transport=Transport(session=session))
    print(client.service._binding_options, type(client.service._binding))
    client.wsdl.dump()
    file = interface_file("DEMOB", form=person(51))
    try:
        result = client.service.getNumUnique(nomFichierDemande="DEM.xml", fichierDemande=file, nomCertificat="x.pem", certificat=b"")
    except Exception as e:
        print("ERR", repr(e))
        with client.settings(raw_response=True):
            r = client.service.getNumUnique(nomFichierDemande="DEM.xml", fichierDemande={"_value_1": file}, nomCertificat="x.pem", certificat={"_value_1": b""})
            print(r.status_code, r.content[:1000])
        result = client.service.getNumUnique(nomFichierDemande="DEM.xml", fichierDemande={"_value_1": file}, nomCertificat="x.pem", certificat={"_value_1": b""})
    print(type(result), result.nomFichierDemande, type(result.fichierDemande), repr(result.fichierDemande)[:300])
