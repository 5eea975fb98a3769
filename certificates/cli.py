"""``sne-hub certificates …``: the operators' commands for counter certificates.

Plugged into the ``sne-hub`` command through the ``sne_hub.commands`` entry point.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from core import demo
from core.cli import Context, pass_context
from core.domain.calendar import now_in_paris
from core.service_layer import services

from .demo import write_demo_pki
from .reading import CertificateError, registration

DEMO_DIRECTORY = Path("var/demo")
HUB_DEMO_ADDRESS = "hub@sne-hub.example.org"


@click.group()
def certificates() -> None:
    """Counter certificates: what authenticates counters on the SOAP and mail channels."""


@certificates.command("register")
@click.argument("counter")
@click.argument("certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def register(context: Context, counter: str, certificate: Path) -> None:
    """Register CERTIFICATE (PEM or DER file) as one of COUNTER's."""
    context.require_schema()
    try:
        record = registration(counter, certificate.read_bytes())
    except CertificateError as error:
        raise click.ClickException(str(error)) from None
    services.register_certificate(context.uow(), record)
    click.echo(f"certificate {record.fingerprint} registered for {counter} (valid until {record.not_after:%Y-%m-%d})")


@certificates.command("list")
@click.argument("counter")
@pass_context
def list_(context: Context, counter: str) -> None:
    """List COUNTER's registered certificates."""
    context.require_schema()
    with context.uow(readonly=True) as uow:
        for record in uow.certificates.of_counter(counter):
            state = f"revoked {record.revoked_at:%Y-%m-%d}" if record.revoked_at else "active"
            click.echo(f"{record.fingerprint}  until {record.not_after:%Y-%m-%d}  {state}  {record.subject}")


@certificates.command("demo")
@click.option("--directory", type=click.Path(file_okay=False, path_type=Path), default=DEMO_DIRECTORY,
              show_default=True, help="Where to write the demo PKI.")
@pass_context
def demo_pki(context: Context, directory: Path) -> None:
    """Write the demo PKI (CA, server, hub and demo counters' certificates) and register the counters'."""
    context.require_schema()
    counters = [(counter.code, counter.name, counter.mailbox) for counter in demo.COUNTERS]
    described = write_demo_pki(directory, counters, HUB_DEMO_ADDRESS)
    for code, entry in described["counters"].items():
        services.register_certificate(context.uow(), registration(code, Path(entry["cert"]).read_bytes()))
    (directory / "pki.json").write_text(json.dumps(described, indent=2))
    click.echo(f"demo PKI in {directory}: ca.pem, server-cert.pem, hub-cert.pem, "
               + ", ".join(f"{code}/cert.pem" for code in described["counters"]))
