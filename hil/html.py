"""The acceptance report as one self-contained HTML file: a verdict per camera, with reasons.

No template engine and nothing fetched: every value goes through ``html.escape``, the style
sheet is inline, so the file can be archived with the acceptance record (Art. 11) and opened
anywhere. Layout: the run, a summary table (one row per camera), then per camera its identity,
verdict and reasons, and every test with its outcome, message and measurements.
"""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["render_html"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.verdict { font-weight: bold; padding: 0.1em 0.5em; border-radius: 0.3em; }
.accepted { background: #d7f5d7; } .rejected { background: #f9d0d0; }
.not-testable { background: #f7ecc4; }
.passed, .xfailed { color: #176b17; } .failed { color: #a11; font-weight: bold; }
.error { color: #a15c00; font-weight: bold; } .skipped, .xpassed { color: #666; }
pre { white-space: pre-wrap; margin: 0; font-size: 0.9em; }
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _verdict(value: str) -> str:
    css = value.replace(" ", "-")
    return f'<span class="verdict {css}">{_e(value.upper())}</span>'


def _row(*cells: str, header: bool = False) -> str:
    tag = "th" if header else "td"
    return "<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>"


def _measurements(items: list[dict[str, Any]]) -> str:
    lines = []
    for m in items:
        low = "" if m.get("low") is None else f"{m['low']:g}"
        high = "" if m.get("high") is None else f"{m['high']:g}"
        limits = f" [{low}..{high}]" if low or high else ""
        value = "n/a" if m.get("value") is None else f"{m['value']:.6g}"
        lines.append(f"{_e(m['name'])} = {_e(value)} {_e(m.get('unit', ''))}{_e(limits)} "
                     f"<b>{_e(m['outcome'].upper())}</b>")
    return "<br>".join(lines)


def _camera_section(record: dict[str, Any]) -> str:
    identity = record.get("identity") or {}
    parts = [f'<h2 id="{_e(record["camera"])}">{_e(record["camera"])} '
             f'{_verdict(record["verdict"])}</h2>']
    rows = [_row("address", _e(record.get("address", "")))]
    rows += [_row(_e(key), _e(value)) for key, value in identity.items() if value]
    parts.append("<table>" + "".join(rows) + "</table>")
    if record["reasons"]:
        items = "".join(f"<li><pre>{_e(r)}</pre></li>" for r in record["reasons"])
        parts.append(f"<p>Reasons:</p><ul>{items}</ul>")
    rows = [_row("test", "outcome", "message", "measurements", "retries", header=True)]
    for test in record["tests"]:
        retries = "<br>".join(_e(f"{r['operation']}: {r['kind']} (attempt {r['attempt']})")
                              for r in test.get("retries", []))
        rows.append(_row(_e(test["test"]),
                         f'<span class="{_e(test["outcome"])}">{_e(test["outcome"])}</span>',
                         f"<pre>{_e(test['message'])}</pre>",
                         _measurements(test.get("measurements", [])), retries))
    parts.append("<table>" + "".join(rows) + "</table>")
    return "\n".join(parts)


def render_html(run: dict[str, Any], records: list[dict[str, Any]]) -> str:
    """The whole report; ``run`` as in run.json, ``records`` as in the per-camera JSON."""
    fleet = run.get("fleet") or {}
    facts = [("targets file", run.get("targets_file", "")),
             ("targets SHA-256", run.get("targets_sha256", "")),
             ("fleet", fleet.get("spec", "") if fleet else "(real cameras)"),
             ("read-only", "yes" if run.get("read_only") else "no"),
             ("started", run.get("started_at", "")), ("finished", run.get("finished_at", ""))]
    summary = [_row("camera", "verdict", "passed", "failed", "errors", "skipped",
                    "model", "firmware", header=True)]
    for record in records:
        counts = record.get("counts", {})
        identity = record.get("identity") or {}
        summary.append(_row(f'<a href="#{_e(record["camera"])}">{_e(record["camera"])}</a>',
                            _verdict(record["verdict"]), str(counts.get("passed", 0)),
                            str(counts.get("failed", 0)), str(counts.get("error", 0)),
                            str(counts.get("skipped", 0)), _e(identity.get("model", "")),
                            _e(identity.get("firmware", ""))))
    body = [
        "<h1>Camera acceptance report</h1>",
        "<table>" + "".join(_row(_e(k), _e(v)) for k, v in facts) + "</table>",
        "<table>" + "".join(summary) + "</table>",
        *(_camera_section(r) for r in records),
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Camera acceptance report</title><style>{_STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")
