"""The suite's DISCOVERY verdict says a reply came but was invalid, not that none came."""

from __future__ import annotations

from typing import Any, cast

from hil import discovery
from hil.suite.test_discovery import match_problems


def test_an_invalid_reply_is_not_reported_as_silence() -> None:
    camera = cast("Any", None)  # not read when there are no matches
    invalid = discovery.ProbeResult("urn:uuid:p", invalid=["not well-formed XML: junk"])
    problems = match_problems(camera, invalid)
    assert any("1 replies came within DISCOVERY_TIMEOUT" in p for p in problems), problems
    assert not any(p.startswith("no ProbeMatch") for p in problems)
    assert any("not well-formed XML: junk" in p for p in problems)
    silent = match_problems(camera, discovery.ProbeResult("urn:uuid:p"))
    assert any(p.startswith("no ProbeMatch within") for p in silent)
