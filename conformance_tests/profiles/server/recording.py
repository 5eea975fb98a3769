"""A small record of the exchanges each check makes, shown with its failure.

The kit's plugin (kit-core's ``exchanges`` fixture and reports) may take this over: the profile's
``Client`` only needs a callable that receives each exchange as a dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EXCERPT = 600  # bytes of each body in a failure's summary: the envelope's start, faults whole


@dataclass
class Recording:
    current: list[dict] = field(default_factory=list)

    def start(self) -> None:
        self.current = []

    def record(self, exchange: dict) -> None:
        self.current.append(exchange)

    def summary(self) -> str:
        """One paragraph per exchange: request line, status and Content-Type, the answer's start."""
        lines = []
        for exchange in self.current:
            content_type = exchange["response_headers"].get("Content-Type", "")
            lines.append(f"{exchange['method']} {exchange['url']} as {exchange['counter']} "
                         f"({exchange['request_headers'].get('Content-Type', '')}, {len(exchange['request'])} bytes)"
                         f" -> HTTP {exchange['status']} {content_type}, {len(exchange['response'])} bytes")
            lines.append("    " + exchange["response"][:EXCERPT].decode("utf-8", "replace").replace("\n", "\n    "))
        return "\n".join(lines) or "(no exchange)"
