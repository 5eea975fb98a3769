"""The kit's reports: what a run proved, requirement by requirement, for integrators and regulators.

- ``report.json``: every requirement (id, sentence, outcome), each of its checks with why it failed,
  and the exchanges each check made (personal data masked, conformance_tests.masking; what the check
  meant by each, and what went wrong on the wire when it did).
- ``report.html``: the same on one self-contained page (no script, no external resource), with a
  large summary block, green when every requirement passed, red otherwise.
- ``summary.txt`` and ``summary.eml``: a short text (outcome per requirement, SHA-256 of both reports)
  and the same signed as S/MIME (conformance_tests.signing).

A requirement's outcome is the worst of its checks': ``failed`` over ``passed`` over ``skipped``; a
passed requirement with a known deviation (a check that passes but reports one) is ``deviation``.
JUnit XML is pytest's own ``--junitxml``.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .catalogue import Requirement

RANK = {"not run": 0, "skipped": 1, "passed": 2, "deviation": 3, "failed": 4}
COLOURS = {"passed": "#1a7f37", "failed": "#c62828"}


@dataclass
class Check:
    nodeid: str
    requirements: list[str]
    outcome: str = "not run"
    why: str = ""
    deviations: list[str] = field(default_factory=list)
    exchanges: list[dict] = field(default_factory=list)

    def settle(self, outcome: str, why: str) -> None:
        """The outcome of one phase (setup, call, teardown): a failure anywhere fails the check."""
        if RANK[outcome] >= RANK[self.outcome]:
            self.outcome, self.why = outcome, why or self.why


@dataclass
class RequirementResult:
    id: str
    sentence: str
    profile: str
    outcome: str
    checks: list[str]
    why: list[str]
    deviations: list[str]


def requirement_results(catalogue: dict[str, Requirement], checks: list[Check], profiles: set[str]) \
        -> list[RequirementResult]:
    """Each requirement of the profiles run, with the outcome of its checks ("not run" when it has none)."""
    results = []
    for requirement in sorted((r for r in catalogue.values() if r.profile in profiles), key=lambda r: r.id):
        mine = [check for check in checks if requirement.id in check.requirements]
        outcome = max((check.outcome for check in mine), key=RANK.__getitem__, default="not run")
        deviations = [deviation for check in mine for deviation in check.deviations]
        if outcome == "passed" and deviations:
            outcome = "deviation"
        results.append(RequirementResult(requirement.id, requirement.sentence, requirement.profile, outcome,
                                         [check.nodeid for check in mine],
                                         [f"{check.nodeid}: {check.why}" for check in mine if check.outcome == "failed"],
                                         deviations))
    return results


def verdict(results: list[RequirementResult]) -> str:
    return "failed" if any(result.outcome in ("failed", "not run") for result in results) else "passed"


def counts(results: list[RequirementResult]) -> dict[str, int]:
    return {outcome: sum(result.outcome == outcome for result in results) for outcome in RANK}


def as_json(run: dict, results: list[RequirementResult], checks: list[Check]) -> str:
    return json.dumps({**run, "verdict": verdict(results), "counts": counts(results),
                       "requirements": [asdict(result) for result in results],
                       "checks": [asdict(check) for check in checks]}, indent=2, ensure_ascii=False)


def summary_text(run: dict, results: list[RequirementResult], digests: dict[str, str]) -> str:
    lines = [f"sne-hub-conformance {run['kit']}: profile(s) {', '.join(run['profiles'])}",
             f"target: {' '.join(run['target']) or '-'}", f"run: {run['started']} to {run['finished']}",
             f"verdict: {verdict(results).upper()} "
             + ", ".join(f"{n} {outcome}" for outcome, n in counts(results).items() if n), ""]
    lines += [f"{result.id} {result.outcome}" for result in results]
    lines += [""] + [f"sha256 {name} {digest}" for name, digest in digests.items()]
    return "\n".join(lines) + "\n"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fff}
main{max-width:1100px;margin:0 auto;padding:0 16px 48px}
.summary{color:#fff;padding:40px 24px;margin:0 0 24px}
.summary h1{margin:0;font-size:42px}.summary p{margin:8px 0 0;font-size:20px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:6px;text-align:left;
vertical-align:top}.passed{color:#1a7f37}.failed,.not.run{color:#c62828}.deviation{color:#9a6700}
.skipped{color:#57606a}pre{white-space:pre-wrap;word-break:break-all;background:#f6f8fa;padding:8px;
font-size:12px;max-height:24em;overflow:auto}details{margin:4px 0}code{font-size:13px}td code{white-space:nowrap}
"""


def as_html(run: dict, results: list[RequirementResult], checks: list[Check]) -> str:
    overall, e = verdict(results), html.escape
    tally = ", ".join(f"{n} {outcome}" for outcome, n in counts(results).items() if n)
    rows = "".join(
        f"<tr><td><code>{e(r.id)}</code></td><td class='{e(r.outcome)}'><b>{e(r.outcome)}</b></td>"
        f"<td>{e(r.sentence)}{''.join(f'<br><i>why: {e(w)}</i>' for w in r.why)}"
        f"{''.join(f'<br><i>known deviation: {e(d)}</i>' for d in r.deviations)}</td></tr>" for r in results)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>SNE conformance report: {e(overall)}</title>
<style>{STYLE}</style></head><body>
<div class="summary" id="summary" style="background:{COLOURS[overall]}"><main>
<h1>Conformance {e(overall.upper())}</h1>
<p>{e(', '.join(run['profiles']))} profile against {e(' '.join(run['target']) or '-')}: {e(tally)}</p>
<p>sne-hub-conformance {e(run['kit'])}, {e(run['started'])} to {e(run['finished'])}</p></main></div>
<main><h2>Requirements</h2><table><tr><th>Id</th><th>Outcome</th><th>Requirement</th></tr>{rows}</table>
<h2>Checks and their exchanges</h2>
<p>Personal data (names, birth dates, addresses, contacts, NIR-like numbers) is masked as <code>***</code>.</p>
{''.join(_check_html(check) for check in checks)}
</main></body></html>
"""


def exchange_line(exchange: dict) -> str:
    """What the exchange was for, its request line and size, what went wrong on the wire, the answer."""
    line = f"{exchange['what']}: " if exchange["what"] else ""
    line += f"{exchange['method']} {exchange['url']}"
    line += f" as {exchange['counter']}" if exchange["counter"] else ""
    request = [exchange["request_content_type"], f"{exchange['request_bytes']} bytes"]
    line += f" ({', '.join(filter(None, request))})"
    line += f" [{exchange['error']}]" if exchange["error"] else ""
    if exchange["status"]:
        return f"{line} -> HTTP {exchange['status']} {exchange['response_content_type']}".rstrip()
    return f"{line} -> no answer" if exchange["error"] else line


def _check_html(check: Check) -> str:
    e = html.escape
    exchanges = "".join(
        f"<details><summary>{e(exchange_line(x))}</summary>"
        f"<pre>{e(x['request'])}</pre><pre>{e(x['response'])}</pre></details>"
        for x in check.exchanges)
    why = f"<pre>{e(check.why)}</pre>" if check.outcome == "failed" else ""
    return (f"<h3 class='{e(check.outcome)}'>{e(check.outcome)}: <code>{e(check.nodeid)}</code></h3>"
            f"<p>{e(', '.join(check.requirements))}</p>{why}{exchanges}")
