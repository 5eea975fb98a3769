"""A small record of the exchanges each check makes, shown with its failure (no bodies sent: they
hold the invented households; the answer's start only).

With the kit's plugin loaded, each exchange also goes to its ``exchanges`` fixture (masked, in the
reports); this summary is what a plain ``pytest`` run shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EXCERPT = 600  # bytes of each answer in a failure's summary


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
            request_type = exchange["request_headers"].get("Content-Type", "")
            line = f"{exchange['what']}: POST {request_type}, {exchange['request_bytes']} bytes"
            if "sent_partly" in exchange:
                line += f" (sending stopped: {exchange['sent_partly']})"
            if "error" in exchange:
                line += f" -> {exchange['error']}"
            elif exchange["status"]:
                line += f" -> HTTP {exchange['status']} {exchange['response_headers'].get('Content-Type', '')}"
                line += "\n    " + exchange["response"][:EXCERPT].decode("utf-8", "replace")
            lines.append(line)
        return "\n".join(lines) or "(no exchange)"
