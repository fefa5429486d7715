"""The report's stylesheet: inline (no external file), print-friendly, severity colours.

Colours come from :mod:`devmgr.report._plot`, so a badge and a map marker of the same
severity look the same. ``print-color-adjust: exact`` keeps the badges coloured on paper.
"""

from __future__ import annotations

from devmgr.report._plot import COMPLIANT_COLOUR, SEVERITY_COLOURS, UNKNOWN_COLOUR

__all__ = ["CSS"]


def _badge_colours() -> str:
    colours = {**{f"sev-{k}": v for k, v in SEVERITY_COLOURS.items()},
               "st-compliant": COMPLIANT_COLOUR, "st-findings": SEVERITY_COLOURS["major"],
               "st-removed": SEVERITY_COLOURS["critical"], "st-not-answering": UNKNOWN_COLOUR,
               "st-unfiled": SEVERITY_COLOURS["minor"], "verdict-ok": COMPLIANT_COLOUR,
               "verdict-bad": SEVERITY_COLOURS["major"]}
    return "".join(f".{name}{{background:{colour}}}" for name, colour in colours.items())


CSS = """
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC",
"Microsoft YaHei",sans-serif;font-size:14px;color:#212529}
body{max-width:1200px;margin:0 auto;padding:1rem 1.5rem}
h1{font-size:1.6rem}h2{border-bottom:2px solid #dee2e6;padding-bottom:.2rem;margin-top:2rem}
h3{margin:0 0 .5rem}h4{margin:1rem 0 .4rem}
nav{margin:.5rem 0 1rem}nav a{margin:0 .2rem}
table{border-collapse:collapse;margin:.5rem 0}caption{text-align:left;font-weight:600;
padding:.3rem 0}
th,td{border:1px solid #dee2e6;padding:.25rem .5rem;text-align:left;vertical-align:top}
table.facts th{background:#f8f9fa;font-weight:600;white-space:nowrap}
tr.differs td{background:#fff3bf}
.columns{display:flex;flex-wrap:wrap;gap:2rem;align-items:flex-start}
.badge{display:inline-block;color:#fff;border-radius:.7rem;padding:.05rem .55rem;
font-size:.8rem;font-weight:600;vertical-align:middle}
.camera{border:1px solid #dee2e6;border-left:6px solid #adb5bd;border-radius:4px;
padding:.8rem 1rem;margin:1rem 0}
.camera.st-findings{border-left-color:#d9480f}.camera.st-removed{border-left-color:#b00020}
.camera.st-unfiled{border-left-color:#b08800}
.evidence{font-family:ui-monospace,monospace;font-size:.8rem}.evidence .k{color:#6c757d}
.pair{display:flex;flex-wrap:wrap;gap:1rem}
figure.snapshot{margin:0;flex:1 1 320px;max-width:560px}
.frame{position:relative;line-height:0}
.frame img{display:block;width:100%;height:auto;border:1px solid #adb5bd}
.frame svg.tiles{position:absolute;left:0;top:0;width:100%;height:100%}
.placeholder{aspect-ratio:4/3;display:flex;flex-direction:column;align-items:center;
justify-content:center;line-height:1.4;background:repeating-linear-gradient(45deg,#f1f3f5,
#f1f3f5 10px,#e9ecef 10px,#e9ecef 20px);border:1px dashed #868e96;color:#495057}
figcaption{font-size:.8rem;color:#495057;margin-top:.3rem}
svg.map{width:100%;max-width:800px;height:auto;border:1px solid #adb5bd}
svg.map .map-bg{fill:#f8f9fa}svg.map text{font-size:12px;fill:#222}
svg.map text.label{font-size:11px;paint-order:stroke;stroke:#f8f9fa;stroke-width:3px}
ul.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1.2rem}
ul.legend svg{vertical-align:middle}
footer{margin-top:2rem;color:#6c757d;font-size:.8rem}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
@media print{body{max-width:none;padding:0;font-size:11px}nav{display:none}
.camera,.view,tr,figure{break-inside:avoid}h2{break-after:avoid}a{color:inherit}}
""" + _badge_colours()
