"""Art. 7: the system runs effectively, so a camera delivers a live picture.

Art. 7 asks that a public video system be built to the technical norms and "run safely and
effectively" (安全有效运行). A filed camera in service that answers ONVIF but streams nothing,
black, or one frozen picture does not: the control room sees nothing, or a lie. (Art. 8 is
acceptance before use, which the acceptance suite judges once; Art. 11 is archiving. The
audit checks a camera in service, so the article is 7.)

The main stream is played by the audit (:mod:`devmgr.media.liveness`) and judged here:
**stream-down** (no picture: refused, unauthorized, silent, undecodable), **stream-black**,
**stream-frozen** (pictures over at least :data:`~devmgr.media.stream.LIVE_SPAN_S` seconds,
none different from the first). Frozen is judged by the picture: a camera with an on-screen
clock (what public-security cameras burn in) changes every second even on a still scene.
"""

from __future__ import annotations

from devmgr.compliance.facts import CameraFacts, Judgement
from devmgr.compliance.model import Finding, Severity
from devmgr.media.stream import BLACK_LUMA, LIVE_SPAN_S

RULES = ("stream-down", "stream-black", "stream-frozen")
ARTICLE = "Art. 7"
_WHY = "Art. 7 asks that the system run effectively: a camera in service must deliver a live " \
       "picture."


def check(facts: CameraFacts, judged: Judgement) -> list[Finding]:
    stream = facts.stream
    if stream is None or not facts.configured or judged.presence == "removed":
        return []
    evidence = {"profile": stream.profile, "uri": stream.uri, "seen": stream.seen()}
    where = f"{facts.label}'s main stream ({stream.profile}, {stream.uri})"
    if not stream.played:
        return [facts.finding(
            "stream-down", ARTICLE, Severity.MAJOR,
            f"{where} delivers no picture although the camera answers ONVIF: "
            f"{stream.error_kind}: {stream.error}. {_WHY}",
            error_kind=stream.error_kind, **evidence)]
    if stream.mean_luma is not None and stream.mean_luma <= BLACK_LUMA:
        return [facts.finding(
            "stream-black", ARTICLE, Severity.MAJOR,
            f"{where} is black (mean luma {stream.mean_luma:.0f} of 255 over {stream.frames} "
            f"pictures): lens covered, sensor or encoder failed. {_WHY}",
            mean_luma=round(stream.mean_luma, 1), **evidence)]
    if not stream.changed and stream.span_s >= LIVE_SPAN_S:
        return [facts.finding(
            "stream-frozen", ARTICLE, Severity.MAJOR,
            f"{where} is frozen: {stream.frames} pictures over {stream.span_s:.1f} s, all the "
            f"same (its clock does not tick). {_WHY}",
            frames=stream.frames, span_s=round(stream.span_s, 2), **evidence)]
    return []
