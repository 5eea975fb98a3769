"""A mail's outer headers read from its header block alone are those the parser reads from the whole mail."""

from email import policy
from email.parser import BytesHeaderParser

import pytest

from async_mail.messages import outer_headers

BODY = b"Content-Type: text/plain\r\n\r\nnot a header: the body's first part\r\n" * 50
MAILS = {
    "crlf": b"From: a@example.org\r\nMessage-ID: <1@example.org>\r\nSubject: x\r\n\r\n" + BODY,
    "lf": b"From: a@example.org\nMessage-ID: <1@example.org>\n\nSubject: not a header\n",
    "lone cr": b"From: a@example.org\rMessage-ID: <1@example.org>\r\rSubject: not a header\r",
    "lf then crlf": b"From: a@example.org\nMessage-ID: <1@example.org>\n\r\nSubject: not a header\r\n",
    "crlf then lone cr": b"From: a@example.org\r\n\rSubject: not a header\r\n",
    "folded": b"Subject: one\r\n two\r\n\tthree\r\nMessage-ID:\r\n <1@example.org>\r\n\r\nX-Not: header\r\n",
    "no blank line": b"From: a@example.org\r\nMessage-ID: <1@example.org>\r\n",
    "no body after the blank line": b"From: a@example.org\r\n\r\n",
    "a blank line first": b"\r\nFrom: not a header\r\n\r\nMessage-ID: <2@example.org>\r\n",
    "a line that is no header": b"From: a@example.org\r\nnot a header\r\nMessage-ID: <1@example.org>\r\n\r\nX: y\r\n",
    "a cr inside a line": b"Subject: a\rb\r\nMessage-ID: <1@example.org>\r\n\r\nX: y\r\n",
    "two from headers": b"From: a@example.org\r\nFrom: b@example.org\r\n\r\n" + BODY,
    "8-bit": "Subject: délai\r\nFrom: é@example.org\r\n\r\ncorps\r\n".encode("latin-1"),
}


@pytest.mark.parametrize("raw", MAILS.values(), ids=MAILS.keys())
def test_the_header_block_alone_gives_the_same_headers(raw):
    whole = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    headers = outer_headers(raw)
    assert headers.items() == whole.items()
    assert [type(defect) for defect in headers.defects] == [type(defect) for defect in whole.defects]


def test_the_body_is_not_read():
    raw = MAILS["crlf"]
    assert outer_headers(raw).get_payload() == ""
    assert BODY.decode() in BytesHeaderParser(policy=policy.compat32).parsebytes(raw).get_payload()
