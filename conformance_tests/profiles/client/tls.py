"""The endpoint's throwaway TLS material: a CA, the server's certificate, and one for the integrator.

Everything is written to one directory the integrator is told of: ``ca.pem`` verifies the kit's
server; ``counter.pem``/``counter-key.pem`` is a client certificate the kit issues for a counter
(serialNumber ``KIT01``) when the integrator brings no CA of their own (``--client-ca``).
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DAY = datetime.timedelta(days=1)


def _name(common_name: str, serial: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sne-hub-conformance"),
                  x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if serial:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    return x509.Name(attributes)


def _issue(subject: x509.Name, key, issuer: x509.Name, issuer_key, extensions) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - DAY).not_valid_after(now + 30 * DAY))
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(directory: Path, stem: str, certificate: x509.Certificate, key) -> None:
    (directory / f"{stem}.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / f"{stem}-key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def make(directory: Path, host: str) -> None:
    """ca.pem, server.pem/server-key.pem (for ``host``), counter.pem/counter-key.pem, unless already there."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "counter.pem").exists():
        return
    ca_key, ca_name = ec.generate_private_key(ec.SECP256R1()), _name("sne-hub-conformance throwaway CA")
    ca = _issue(ca_name, ca_key, ca_name, ca_key, [(x509.BasicConstraints(ca=True, path_length=0), True)])
    _write(directory, "ca", ca, ca_key)
    try:
        names = [x509.IPAddress(ipaddress.ip_address(host))]
    except ValueError:
        names = [x509.DNSName(host)]
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _issue(_name(host), server_key, ca_name, ca_key, [
        (x509.SubjectAlternativeName(names + [x509.DNSName("localhost")]), False),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)])
    _write(directory, "server", server, server_key)
    counter_key = ec.generate_private_key(ec.SECP256R1())
    counter = _issue(_name("conformance counter", "KIT01"), counter_key, ca_name, ca_key, [
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)])
    _write(directory, "counter", counter, counter_key)


def server_context(directory: Path, client_ca: Path | None) -> ssl.SSLContext:
    """TLS for the endpoint: a client certificate asked for, verified against ``client_ca`` (default: the
    kit's CA), but optional so that a request without one is seen and reported (R203)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(directory / "server.pem", directory / "server-key.pem")
    context.load_verify_locations(str(client_ca or directory / "ca.pem"))
    context.verify_mode = ssl.CERT_OPTIONAL
    return context
