"""Logs never carry personal data, whatever happens to a request."""

import logging
import socket
import time

import pytest

from conformance_tests.profiles.server.wire import DEMANDE
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


def test_a_client_gone_before_its_answer_is_one_log_line_not_a_traceback(hub, caplog, capfd):
    """cheroot writes its errors on stderr, tracebacks included; the hub's server logs them, and says
    in one line that a client hung up before its answer was written."""
    caplog.set_level(logging.DEBUG)
    request = f"GET /services/{DEMANDE}/?wsdl HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
    for _ in range(20):  # the WSDL takes several writes: the client's reset comes before the last
        with socket.create_connection(("127.0.0.1", hub.port), timeout=10) as raw, \
                hub.client("DEMOB").context.wrap_socket(raw, server_hostname="localhost") as connection:
            connection.sendall(request)
        if any("the client closed the connection" in record.getMessage() for record in caplog.records):
            break
    else:
        pytest.fail("no answer was cut short by its client in 20 tries")
    time.sleep(0.2)  # the server's worker is done with the connection
    gone = [record for record in caplog.records if "the client closed the connection" in record.getMessage()]
    assert {(record.levelname, record.exc_info) for record in gone} == {("INFO", None)}
    assert "Traceback" not in capfd.readouterr().err
