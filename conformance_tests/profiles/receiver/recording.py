"""A small record of the exchanges each check makes, shown with its failure (no bodies sent: they
hold the invented households; the answer's start only).

The kit's plugin (kit-core's ``exchanges`` fixture and reports) may take this over: the profile's
``Sender`` only needs a callable that receives each exchange as a dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Recording:
    current: list[dict] = field(default_factory=list)

    def start(self) -> None:
        self.current = []

    def record(self, exchange: dict) -> None:
        self.current.append(exchange)

    def summary(self) -> str:
        lines = []
        for exchange in self.current:
            line = f"{exchange['what']}: POST {exchange['request_type']}, {exchange['request_bytes']} bytes"
            if "sent_partly" in exchange:
                line += f" (sending stopped: {exchange['sent_partly']})"
            if "error" in exchange:
                line += f" -> {exchange['error']}"
            elif "status" in exchange:
                line += f" -> HTTP {exchange['status']} {exchange['response_type']}"
                line += "\n    " + exchange["response"].decode("utf-8", "replace")
            lines.append(line)
        return "\n".join(lines) or "(no exchange)"
