"""The counter's own mailbox, where the hub's relay delivers its answers: a minimal SMTP server.

The standard library alone (``socketserver``): EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT,
every recipient accepted, each message kept as received. The hub is told to deliver here the way
docs/MAIL.md says: its outbound relay (``SNE_HUB_SMTP_RELAY=host:port``) is this server.
"""

from __future__ import annotations

import socketserver
import threading
import time
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    raw: bytes

    def header(self, name: str) -> str:
        return str(BytesHeaderParser(policy=policy.compat32).parsebytes(self.raw).get(name, "")).strip()


class _Session(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 sne-hub-conformance mailbox")
        sender, recipients = "", []
        for line in self.rfile:
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.reply("250 sne-hub-conformance")
            elif verb == b"MAIL":
                sender, recipients = line.decode(errors="replace").partition(":")[2].strip(), []
                self.reply("250 OK")
            elif verb == b"RCPT":
                recipients.append(line.decode(errors="replace").partition(":")[2].strip())
                self.reply("250 OK")
            elif verb == b"DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                self.server.mailbox.keep(Received(sender, tuple(recipients), self._data()))
                self.reply("250 OK")
            elif verb == b"QUIT":
                self.reply("221 Bye")
                return
            else:  # RSET, NOOP
                self.reply("250 OK")

    def _data(self) -> bytes:
        lines = []
        for line in self.rfile:
            if line in (b".\r\n", b".\n"):
                break
            lines.append(line[1:] if line.startswith(b"..") else line)
        return b"".join(lines)


class Mailbox:
    """What the hub delivered, in order; ``wait_for`` waits for the answers to one message."""

    def __init__(self, host: str, port: int):
        self.received: list[Received] = []
        self.changed = threading.Condition()
        self.server = socketserver.ThreadingTCPServer((host, port), _Session)
        self.server.daemon_threads = True
        self.server.mailbox = self
        threading.Thread(target=self.server.serve_forever, name="kit-mailbox", daemon=True).start()

    def keep(self, mail: Received) -> None:
        with self.changed:
            self.received.append(mail)
            self.changed.notify_all()

    def count(self) -> int:
        with self.changed:
            return len(self.received)

    def answers_to(self, *message_ids: str, after: int = 0) -> list[Received]:
        """The mails In-Reply-To one of ``message_ids`` among those received after the first ``after``."""
        with self.changed:
            return [mail for mail in self.received[after:] if mail.header("In-Reply-To") in message_ids]

    def wait_for(self, *message_ids: str, after: int = 0, timeout: float = 60) -> list[Received]:
        """The answers to ``message_ids`` after the first ``after`` mails, once there is one (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not self.answers_to(*message_ids, after=after) and time.monotonic() < deadline:
                self.changed.wait(max(0.0, min(1.0, deadline - time.monotonic())))
            return self.answers_to(*message_ids, after=after)

    def since(self, index: int) -> list[Received]:
        with self.changed:
            return self.received[index:]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
