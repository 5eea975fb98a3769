"""Logs never carry personal data, whatever happens to a request."""

import logging

from support.files import get_demande, get_num_unique, interface_file, person

SECRETS = ("Alex", "FamilleAAAB", "1980-01-02", "claire.martin@example.org", "0612345678", "rue des Jardins",
           "claire+secret@example.org")


def test_no_personal_data_in_any_log_line(hub, caplog):
    caplog.set_level(logging.DEBUG)
    client = hub.client("DEMOB")
    form = person(1)
    get_num_unique(client, interface_file("DEMOB", form=form))  # accepted
    broken = person(1)
    broken.household.applicant.civility = "9"
    get_num_unique(client, interface_file("DEMOB", form=broken))  # anomalies
    invalid = person(1, email="claire+secret@example.org")  # the XSD's pattern error quotes the value
    get_num_unique(client, interface_file("DEMOB", form=invalid))
    get_demande(client, "0571126999999DEMOB")  # unknown number
    text = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert "getNumUnique counter=DEMOB" in text  # the access log is there…
    for secret in SECRETS:
        assert secret not in text  # …without anything about the household
