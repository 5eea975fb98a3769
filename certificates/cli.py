"""``sne-hub certificates …``: the operators' commands for the authority and counter certificates.

Plugged into the ``sne-hub`` command through the ``sne_hub.commands`` entry point.

Two stores are involved. The register (core's ``counter_certificates``, through the core's use
cases) says which certificate authenticates which counter, on the SOAP channel (TLS client) and on
the mail channel (S/MIME signer) alike. The authority's directory (``--ca-dir``, env
SNE_HUB_CA_DIR, ``var/ca`` by default) holds the deployment's CA, the ledger of what it issued and
its CRL. ``issue`` writes to both; ``register`` only to the register, for certificates issued
elsewhere; ``revoke`` to both when the certificate is ours.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import click

from core import demo
from core.cli import Context, pass_context
from core.domain.calendar import now_in_paris
from core.domain.referential import CounterCertificate
from core.service_layer import services

from .authority import (
    CA_DAYS,
    COUNTER_DAYS,
    MAIL_DAYS,
    SERVER_DAYS,
    counter_profile,
    hub_client_profile,
    hub_mail_profile,
    server_profile,
)
from .demo import write_demo_pki
from .ledger import AuthorityDirectory
from .reading import CertificateError, load_certificate, registration
from .revocation import CRL_DAYS, REASONS, crl_number

DEMO_DIRECTORY = Path("var/demo")
CA_DIRECTORY = Path("var/ca")
HUB_DEMO_ADDRESS = "hub@sne-hub.example.org"
EXPIRING_DAYS = 30

ca_dir_option = click.option(
    "--ca-dir", type=click.Path(file_okay=False, path_type=Path), envvar="SNE_HUB_CA_DIR", default=CA_DIRECTORY,
    show_default=True, help="Directory of the certificate authority (env SNE_HUB_CA_DIR).")


@click.group()
def certificates() -> None:
    """Counter certificates and the deployment's authority: what authenticates counters on the SOAP
    and mail channels."""


# -- the authority ------------------------------------------------------------------------------


@certificates.command("init")
@click.option("--name", required=True, help="The authority's common name, e.g. \"sne-hub Moselle CA\".")
@click.option("--days", type=click.IntRange(min=1), default=CA_DAYS, show_default=True,
              help="Validity of the CA certificate.")
@ca_dir_option
def init(name: str, days: int, ca_dir: Path) -> None:
    """Create the certificate authority in --ca-dir: ca.pem, ca-key.pem (0600), index.json, crl.pem.

    Refuses a directory that already holds an authority."""
    directory = AuthorityDirectory(ca_dir)
    try:
        authority = directory.create(name, days)
    except (CertificateError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"certificate authority {name!r} created in {ca_dir}")
    click.echo(f"  {directory.cert_path} (fingerprint {authority.fingerprint}): trust it for client certificates "
               "(SNE_HUB_TLS_CLIENT_CA) and give it to the counters")
    click.echo(f"  {directory.key_path}: keep it secret, keep a backup")
    click.echo(f"  {directory.crl_path}: publish it where relying parties fetch it")


@certificates.command("issue")
@click.argument("counter")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory to write cert.pem and key.pem (0600) into.")
@click.option("--days", type=click.IntRange(min=1), default=COUNTER_DAYS, show_default=True,
              help="Validity of the certificate.")
@click.option("--replace", is_flag=True,
              help="Also revoke (reason superseded) the counter's earlier certificates from this authority.")
@click.option("--force", is_flag=True, help="Overwrite cert.pem and key.pem if --out already holds them.")
@ca_dir_option
@pass_context
def issue(context: Context, counter: str, out: Path, days: int, replace: bool, force: bool, ca_dir: Path) -> None:
    """Issue a certificate to COUNTER (TLS client and S/MIME, with the counter's mailbox) and register it.

    Renewal is issuing again: the new certificate is registered beside the old one, which keeps
    working until it expires, unless --replace revokes it (and the counter's other certificates
    from this authority) and rewrites the CRL."""
    context.require_schema()
    directory = AuthorityDirectory(ca_dir)
    cert_path, key_path = out / "cert.pem", out / "key.pem"
    if not force and (cert_path.exists() or key_path.exists()):
        raise click.ClickException(f"{out} already holds cert.pem or key.pem: choose another --out, or --force")
    with context.uow(readonly=True) as uow:
        holder = uow.counters.get(counter)
    if holder is None:
        raise click.ClickException(f"no counter {counter}")
    if not holder.active:
        click.echo(f"warning: counter {counter} is inactive; its certificates authenticate nothing until it is "
                   "reactivated", err=True)
    try:
        profile = counter_profile(holder.code, holder.name, holder.mailbox)
        issued = directory.issue(profile, days, counter=holder.code)
    except (CertificateError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    issued.write(cert_path, key_path)
    services.register_certificate(context.uow(), registration(holder.code, issued.cert_pem()))
    certificate = issued.certificate
    click.echo(f"certificate {issued.fingerprint} issued to {holder.code} and registered "
               f"(serial {certificate.serial_number:X}, valid until {certificate.not_valid_after_utc:%Y-%m-%d}, "
               f"mailbox {holder.mailbox or '-'})")
    click.echo(f"  {cert_path}\n  {key_path} (hand it over securely, then delete this copy)")
    if replace:
        now = now_in_paris()
        earlier = [entry for entry in directory.read_ledger().of_counter(holder.code)
                   if entry.revoked_at is None and entry.fingerprint != issued.fingerprint]
        for entry in earlier:
            _revoke_in_register(context, entry.fingerprint, now)
            directory.revoke(entry.fingerprint, now, "superseded")
            click.echo(f"certificate {entry.fingerprint} revoked (superseded)")
        if earlier:
            _publish(directory, None, CRL_DAYS)
        else:
            click.echo(f"no earlier certificate of {holder.code} from this authority to revoke")


@certificates.command("issue-hub")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory to write the certificates and keys (0600) into.")
@click.option("--hostname", "hostnames", multiple=True,
              help="DNS name of the SOAP server (repeatable): issues server-cert.pem and server-key.pem.")
@click.option("--ip", "ips", multiple=True, help="IP address of the SOAP server (repeatable).")
@click.option("--mailbox", help="The hub's exchange address: issues hub-cert.pem and hub-key.pem (S/MIME).")
@click.option("--client", is_flag=True, help="Issue hub-client-cert.pem and hub-client-key.pem: the TLS client "
                                              "certificate dispatching presents (SNE_HUB_DISPATCH_CERT/KEY).")
@click.option("--days", type=click.IntRange(min=1), help=f"Validity (default {SERVER_DAYS} days for the server "
                                                          f"and the client, {MAIL_DAYS} for the mail identity).")
@click.option("--force", is_flag=True, help="Overwrite existing files in --out.")
@ca_dir_option
def issue_hub(out: Path, hostnames: tuple[str, ...], ips: tuple[str, ...], mailbox: str | None, client: bool,
              days: int | None, force: bool, ca_dir: Path) -> None:
    """Issue the hub's own certificates: TLS server (SNE_HUB_TLS_CERT/KEY), S/MIME mail identity,
    TLS client for dispatching.

    They are recorded in the ledger (revocable, in the CRL) but not in the register, which only
    knows counters' certificates."""
    wanted = []
    try:
        if hostnames or ips:
            wanted.append(("server", server_profile(hostnames, ips), days or SERVER_DAYS))
        if mailbox:
            wanted.append(("hub", hub_mail_profile(mailbox), days or MAIL_DAYS))
        if client:
            wanted.append(("hub-client", hub_client_profile(), days or SERVER_DAYS))
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if not wanted:
        raise click.UsageError("give --hostname/--ip (server certificate), --mailbox (mail identity), --client, "
                               "or several")
    for prefix, _, _ in wanted:
        if not force and ((out / f"{prefix}-cert.pem").exists() or (out / f"{prefix}-key.pem").exists()):
            raise click.ClickException(f"{out} already holds {prefix}-cert.pem or {prefix}-key.pem: "
                                       "choose another --out, or --force")
    directory = AuthorityDirectory(ca_dir)
    for prefix, profile, valid_days in wanted:
        try:
            issued = directory.issue(profile, valid_days)
        except (CertificateError, ValueError) as error:
            raise click.ClickException(str(error)) from None
        issued.write(out / f"{prefix}-cert.pem", out / f"{prefix}-key.pem")
        click.echo(f"certificate {issued.fingerprint} issued: {out / f'{prefix}-cert.pem'} "
                   f"(valid until {issued.certificate.not_valid_after_utc:%Y-%m-%d})")


@certificates.command("register")
@click.argument("counter")
@click.argument("certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@ca_dir_option
@pass_context
def register(context: Context, counter: str, certificate: Path, ca_dir: Path) -> None:
    """Register CERTIFICATE (PEM or DER file) as one of COUNTER's.

    For a certificate issued by another authority: the SOAP server accepts it only if that
    authority is among those it trusts (SNE_HUB_TLS_CLIENT_CA, a PEM bundle of CA certificates).
    A certificate already expired, or revoked (in the register, or by the authority in --ca-dir),
    is refused: it would authenticate nothing, or what was revoked would authenticate again."""
    context.require_schema()
    data = certificate.read_bytes()
    now = now_in_paris()
    directory = AuthorityDirectory(ca_dir)
    try:
        record = registration(counter, data)
        entry = directory.read_ledger().find(record.fingerprint)
    except CertificateError as error:
        raise click.ClickException(str(error)) from None
    if entry is not None and entry.revoked_at is not None:
        raise click.ClickException(f"certificate {record.fingerprint} was revoked by the authority in {ca_dir} on "
                                   f"{entry.revoked_at:%Y-%m-%d} ({entry.reason}): not registered; issue a new one")
    services.register_certificate(context.uow(), record, now)
    click.echo(f"certificate {record.fingerprint} registered for {counter} (valid until {record.not_after:%Y-%m-%d})")
    if record.not_before > now:
        click.echo(f"warning: it is valid only from {record.not_before:%Y-%m-%d %H:%M} UTC and authenticates nothing "
                   "before", err=True)
    if directory.cert_path.exists():
        try:
            ours = directory.authority().has_issued(load_certificate(data))
        except CertificateError:
            ours = False
        if not ours:
            click.echo(f"note: not issued by the authority in {ca_dir}: make sure its issuer is in the bundle of "
                       "trusted authorities (SNE_HUB_TLS_CLIENT_CA) and that the peers of the mail channel "
                       "trust it too", err=True)


@certificates.command("revoke")
@click.argument("fingerprint")
@click.option("--reason", type=click.Choice(list(REASONS)), default="unspecified", show_default=True,
              help="Why (RFC 5280 reason), written into the CRL.")
@click.option("--crl-days", type=click.IntRange(min=1), default=CRL_DAYS, show_default=True,
              help="Validity of the CRL rewritten afterwards.")
@ca_dir_option
@pass_context
def revoke(context: Context, fingerprint: str, reason: str, crl_days: int, ca_dir: Path) -> None:
    """Revoke the certificate of SHA-256 FINGERPRINT (hex, colons allowed).

    In the register first: every hub process refuses it within SNE_HUB_REVOCATION_POLL_SECONDS (1 s
    by default), on open connections too. Then, if this authority issued it, in its ledger, and the
    CRL is rewritten."""
    context.require_schema()
    fingerprint = _fingerprint(fingerprint)
    now = now_in_paris()
    directory = AuthorityDirectory(ca_dir)
    in_register = _revoke_in_register(context, fingerprint, now)
    try:
        known = directory.read_ledger().find(fingerprint)
        entry = directory.revoke(fingerprint, now, reason)
    except CertificateError as error:
        raise click.ClickException(str(error)) from None
    if in_register is None and entry is None:
        raise click.ClickException(f"no certificate {fingerprint} in the register nor in the ledger of {ca_dir}")
    if in_register is None:
        click.echo(f"certificate {fingerprint} is not in the register (no counter authenticates with it)")
    elif in_register.revoked_at is not None:
        click.echo(f"certificate {fingerprint} of {in_register.counter} already revoked in the register "
                   f"since {in_register.revoked_at:%Y-%m-%d %H:%M}")
    else:
        click.echo(f"certificate {fingerprint} of {in_register.counter} revoked in the register")
    if entry is not None:
        already = "already " if known is not None and known.revoked_at is not None else ""
        click.echo(f"serial {entry.serial_hex} {already}revoked in the ledger of {ca_dir} ({entry.reason}, "
                   f"since {entry.revoked_at:%Y-%m-%d %H:%M} UTC)")
    if directory.exists():
        _publish(directory, None, crl_days)


@certificates.command("crl")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the CRL (PEM) [default: <ca-dir>/crl.pem].")
@click.option("--days", type=click.IntRange(min=1), default=CRL_DAYS, show_default=True,
              help="Days until the CRL's next update: publish a new one before then.")
@ca_dir_option
def crl(out: Path | None, days: int, ca_dir: Path) -> None:
    """Write the authority's CRL: every revoked certificate of its ledger, under a new CRL number."""
    _publish(AuthorityDirectory(ca_dir), out, days)


# -- the register -------------------------------------------------------------------------------


@certificates.command("list")
@click.argument("counter", required=False)
@click.option("--expiring-within", "within", type=click.IntRange(min=0), metavar="DAYS",
              help="Only certificates, not revoked, that expire within DAYS days.")
@pass_context
def list_(context: Context, counter: str | None, within: int | None) -> None:
    """List the registered certificates, of COUNTER or of every counter: counter, fingerprint, end of
    validity, state (active, expired, not yet valid, revoked), subject."""
    context.require_schema()
    now = now_in_paris()
    with context.uow(readonly=True) as uow:
        codes = [counter] if counter else [known.code for known in uow.counters.list()]
        records = [record for code in codes for record in uow.certificates.of_counter(code)]
    if within is not None:
        until = now + timedelta(days=within)
        records = [record for record in records if record.revoked_at is None and now <= record.not_after <= until]
    for record in records:
        click.echo(f"{record.counter}  {record.fingerprint}  until {record.not_after:%Y-%m-%d}  "
                   f"{_state(record, now)}  {record.subject}")


@certificates.command("expiring")
@click.option("--days", type=click.IntRange(min=0), default=EXPIRING_DAYS, show_default=True,
              help="The horizon: certificates ending within this many days.")
@pass_context
def expiring(context: Context, days: int) -> None:
    """Print the registered, non-revoked certificates that expire within --days; always exits 0.

    Run it daily (cron, systemd timer) and mail its output to the operators: `sne-hub serve` does
    not warn counters of expiring certificates yet. A certificate whose counter already holds a
    later one is marked "renewed"."""
    context.require_schema()
    now = now_in_paris()
    until = now + timedelta(days=days)
    soon = services.expiring_certificates(context.uow(readonly=True), now, until)
    with context.uow(readonly=True) as uow:
        later = {code: [record for record in uow.certificates.of_counter(code)
                        if record.revoked_at is None and record.not_after > until]
                 for code in {record.counter for record in soon}}
    for record in soon:
        left = (record.not_after - now).days
        renewed = "  renewed" if later[record.counter] else ""
        click.echo(f"{record.counter}  {record.fingerprint}  until {record.not_after:%Y-%m-%d %H:%M}  "
                   f"in {left} day{'s' if left != 1 else ''}{renewed}  {record.subject}")
    if not soon:
        click.echo(f"no registered certificate expires within {days} days")


# -- demo ---------------------------------------------------------------------------------------


@certificates.command("demo")
@click.option("--directory", type=click.Path(file_okay=False, path_type=Path), default=DEMO_DIRECTORY,
              show_default=True, help="Where to write the demo PKI.")
@pass_context
def demo_pki(context: Context, directory: Path) -> None:
    """Write the demo PKI (CA, server, hub mail and client, demo counters' certificates) and register the counters'.

    Its directory is also an authority directory (ledger, CRL): `--ca-dir var/demo` works with
    the other commands."""
    context.require_schema()
    counters = [(counter.code, counter.name, counter.mailbox) for counter in demo.COUNTERS]
    described = write_demo_pki(directory, counters, HUB_DEMO_ADDRESS)
    for code, entry in described["counters"].items():
        services.register_certificate(context.uow(), registration(code, Path(entry["cert"]).read_bytes()))
    authority = AuthorityDirectory(directory)
    for entry in [described["server"], described["hub"], described["hub_client"], *described["counters"].values()]:
        authority.record(load_certificate(Path(entry["cert"]).read_bytes()))
    if not authority.crl_path.exists():  # the mail channel reads it (SNE_HUB_MAIL_CRL)
        authority.publish_crl()
    (directory / "pki.json").write_text(json.dumps(described, indent=2))
    click.echo(f"demo PKI in {directory}: ca.pem, crl.pem, server-cert.pem, hub-cert.pem, hub-client-cert.pem, "
               + ", ".join(f"{code}/cert.pem" for code in described["counters"]))


# -- helpers ------------------------------------------------------------------------------------


def _fingerprint(text: str) -> str:
    """A SHA-256 fingerprint as the register keeps it: ``openssl``'s ``AB:CD:…`` form is accepted."""
    normalised = re.sub(r"[\s:]", "", text).lower()
    if not re.fullmatch(r"[0-9a-f]{64}", normalised):
        raise click.BadParameter("a SHA-256 fingerprint: 64 hexadecimal digits, colons allowed",
                                 param_hint="FINGERPRINT")
    return normalised


def _revoke_in_register(context: Context, fingerprint: str, at: datetime) -> CounterCertificate | None:
    """Revoke in the register unless already revoked; the record as it was, None if not registered."""
    with context.uow(readonly=True) as uow:
        record = uow.certificates.get(fingerprint)
    if record is not None and record.revoked_at is None:
        services.revoke_certificate(context.uow(), fingerprint, at)
    return record


def _publish(directory: AuthorityDirectory, out: Path | None, days: int) -> None:
    try:
        path, published = directory.publish_crl(out, days)
    except CertificateError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"CRL number {crl_number(published)} written to {path}: {len(published)} revoked, "
               f"next update by {published.next_update_utc:%Y-%m-%d %H:%M} UTC")


def _state(record: CounterCertificate, now: datetime) -> str:
    if record.revoked_at is not None:
        return f"revoked {record.revoked_at:%Y-%m-%d}"
    if now > record.not_after:
        return "expired"
    if now < record.not_before:
        return "not yet valid"
    return "active"
