"""The operators' command line, run as operators run it: the installed ``sne-hub`` script."""

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from core.adapters import schema
from core.adapters.database import make_engine
from core.cli import main

SNE_HUB = str(Path(sys.executable).parent / "sne-hub")


def all_commands(group: click.Group, path=()):
    """Every command, those plugged in by other packages (certificates, mail) included."""
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        yield path + (name,)
        if isinstance(command, click.Group):
            yield from all_commands(command, path + (name,))


@pytest.fixture
def sne_hub(database_url, tmp_path):
    def run(*args, check=True):
        environment = {**os.environ, "SNE_HUB_DATABASE_URL": database_url, "SNE_HUB_LOG_LEVEL": "WARNING",
                       "SNE_HUB_DOCUMENT_KEYS": str(tmp_path / "document-keys"),
                       "SNE_HUB_DOCUMENT_STORE": str(tmp_path / "documents")}
        result = subprocess.run([SNE_HUB, *args], capture_output=True, text=True, env=environment)
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    return run


@pytest.mark.parametrize("command", [()] + list(all_commands(main)), ids=lambda c: " ".join(c) or "sne-hub")
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [*command, "--help"], prog_name="sne-hub")
    assert result.exit_code == 0, result.output
    assert "Usage: sne-hub" in result.output
    description = result.output.split("\n\n")[1].strip()
    assert description and not description.startswith("Options:")


def test_the_installed_script_answers():
    result = subprocess.run([SNE_HUB, "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "renewals" in result.stdout


def test_reference_data_and_demo(sne_hub):
    assert "territory 057" in sne_hub("demo", "seed").stdout
    assert "already present" in sne_hub("demo", "seed").stdout
    sne_hub("territories", "add", "054", "--name", "Meurthe-et-Moselle", "--departement", "54")
    sne_hub("counters", "add", "NANCY", "--name", "Ville de Nancy", "--type", "commune", "--territory", "054",
            "--mailbox", "guichet@nancy.test")
    assert "NANCY  054  commune" in sne_hub("counters", "list", "--territory", "054").stdout
    assert "guichet@nancy.test" in sne_hub("counters", "show", "NANCY").stdout
    assert "054  Meurthe-et-Moselle" in sne_hub("territories", "list").stdout
    assert "counters:     DEMOB, DEMOC, DEMOE, DEMOG" in sne_hub("territories", "show", "057").stdout


def test_a_territorys_manager_defines_its_event_types(sne_hub):
    assert "event type COMLOC" in sne_hub("demo", "seed").stdout
    sne_hub("events", "types", "add", "VISCONF", "--territory", "057", "--manager", "DEMOG",
            "--label", "Visite de conformité", "--description", "Visite du logement avant attribution",
            "--publish", "--feature", "DATEVIS:DAT!:Date de la visite", "--feature", "RESULTAT:LST:Résultat",
            "--choice", "RESULTAT:OK:Conforme", "--choice", "RESULTAT:KO:Non conforme")
    listed = sne_hub("events", "types", "list", "--territory", "057").stdout
    assert "DECISCAL   national réglementaire,publié" in listed
    assert "VISCONF    057      publié" in listed and "[DATEVIS:DAT! RESULTAT:LST]" in listed
    refused = sne_hub("events", "types", "add", "AUTRE", "--territory", "057", "--manager", "DEMOB",
                      "--label", "Autre", "--description", "Autre", check=False)
    assert refused.returncode == 1 and "NUU182" in refused.stderr  # only the territory's manager
    again = sne_hub("events", "types", "add", "VISCONF", "--territory", "057", "--manager", "DEMOG",
                    "--label", "Autre", "--description", "Autre", check=False)
    assert "NUU205" in again.stderr
    sne_hub("events", "types", "end", "VISCONF", "--territory", "057", "--manager", "DEMOG",
            "--last-day", "2026-12-31")
    assert "VISCONF    057      publié               Visite de conformité  ..2026-12-31" in \
        sne_hub("events", "types", "list", "--territory", "057").stdout


def test_refusals_print_their_stable_code(sne_hub):
    sne_hub("demo", "seed")
    result = sne_hub("counters", "add", "bad", "--name", "X", "--type", "commune", "--territory", "057", check=False)
    assert result.returncode == 1
    assert "NUU103 code" in result.stderr and "Traceback" not in result.stderr
    result = sne_hub("territories", "add", "088", "--name", "Vosges", "--departement", "57", check=False)
    assert "NUU192" in result.stderr


def test_show_an_application_and_its_journal(sne_hub):
    numbers = [line.split()[-1] for line in sne_hub("demo", "seed").stdout.split(", ") if "application" in line]
    shown = sne_hub("applications", "show", numbers[0], "--journal").stdout
    assert "state:           Active" in shown and "application.registered" in shown
    assert '"number": "%s"' % numbers[0] in sne_hub("applications", "show", numbers[0], "--json").stdout
    missing = sne_hub("applications", "show", "0571299000001DEMOB", check=False)
    assert missing.returncode == 1 and "no application" in missing.stderr
    malformed = sne_hub("applications", "show", "05799990000012DEMOB", check=False)
    assert "NUU110" in malformed.stderr


def test_the_demo_document_its_journal_profiles_and_key_rotation(sne_hub, tmp_path):
    seeded = sne_hub("demo", "seed").stdout
    assert "document keyring" in seeded
    number = seeded.split(" on ")[-1].strip()
    table = sne_hub("documents", "journal", number).stdout
    assert "Création" in table and "LOGACT JUSTL" in table
    exported = sne_hub("documents", "journal", number, "--csv", "--event", "CRE").stdout.splitlines()
    assert exported[0].startswith("date;evenement;categorie;type;guichet;idPiece;sha256")
    assert len(exported) == 2 and ";LOGACT;JUSTL;DEMOB;" in exported[1]
    assert sne_hub("documents", "journal", number, "--csv", "--category", "IDD").stdout.count("\n") == 1
    assert sne_hub("documents", "journal", number, "--until", "2000-01-01").stdout == ""
    assert "Consultant simple" in sne_hub("documents", "profile", "DEMOE", "consultant_simple").stdout
    assert "NUU180" in sne_hub("documents", "profile", "NOONE", "guichet", check=False).stderr
    assert "current key is now k2" in sne_hub("documents", "keys", "add", "k2").stdout
    assert "pièces scellées à nouveau : 1 ; déjà avec la clé courante : 0" in sne_hub("documents", "rekey").stdout
    again = sne_hub("documents", "rekey")
    assert "pièces scellées à nouveau : 0 ; déjà avec la clé courante : 1" in again.stdout and "rekey" in again.stderr
    assert sne_hub("documents", "keys", "add", "k2", check=False).returncode == 1
    assert oct((tmp_path / "document-keys").stat().st_mode)[-3:] == "600"


def test_renewal_job_for_a_given_day_shows_progress(sne_hub):
    sne_hub("demo", "seed")
    result = sne_hub("renewals", "run", "--date", "2099-01-01")
    assert "3 demandes examinées" in result.stdout
    assert "renewal clock 2099-01-01" in result.stderr  # the progress bar


def test_commands_refuse_an_unmigrated_database(tmp_path):
    environment = {**os.environ, "SNE_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = subprocess.run([SNE_HUB, "counters", "list"], capture_output=True, text=True, env=environment)
    assert result.returncode == 1 and "sne-hub db upgrade" in result.stderr


def test_db_upgrade_creates_the_database(tmp_path):
    environment = {**os.environ, "SNE_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'new.db'}"}
    result = subprocess.run([SNE_HUB, "db", "upgrade"], capture_output=True, text=True, env=environment)
    head = schema.head_revision(make_engine("sqlite://"))
    assert result.returncode == 0 and f"revision {head}" in result.stdout
    assert (tmp_path / "var" / "new.db").exists()
