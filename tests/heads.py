"""Scripted PTZ heads for tests: transports (``devmgr.onvif.transport.HttpTransport``) that
answer GetStatus from a timeline and every other operation with an empty response.

A head's timeline starts again with each command (any operation but GetStatus and
GetSystemDateAndTime): ``LazyHead`` reports IDLE at the old position for 0.3 s after a command,
as some firmware does, then moves for 0.2 s to its target; ``RunawayHead`` never stops moving.
"""

from __future__ import annotations

import time

from lxml import etree

from camfleet.http import HttpRequest, HttpResponse

STATUS = """<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>
  <GetStatusResponse xmlns="http://www.onvif.org/ver20/ptz/wsdl"
  xmlns:tt="http://www.onvif.org/ver10/schema"><PTZStatus><tt:Position>
  <tt:PanTilt x="{x}" y="0.0"/><tt:Zoom x="0.0"/></tt:Position>
  <tt:MoveStatus><tt:PanTilt>{state}</tt:PanTilt><tt:Zoom>IDLE</tt:Zoom></tt:MoveStatus>
  </PTZStatus></GetStatusResponse></s:Body></s:Envelope>"""
EMPTY = """<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>
  <{operation}Response xmlns="http://www.onvif.org/ver20/ptz/wsdl"/></s:Body></s:Envelope>"""
READS = ("GetStatus", "GetSystemDateAndTime")


def operation_of(body: bytes) -> str:
    envelope = etree.fromstring(body)
    body_element = envelope.find("{*}Body")
    assert body_element is not None, "not a SOAP request"
    return etree.QName(body_element[0]).localname


class ScriptedHead:
    """Where the head is ``elapsed`` seconds after the last command: (pan, MoveStatus)."""

    def __init__(self) -> None:
        self.commanded = time.monotonic()
        self.commands: list[str] = []
        #: Every GetStatus answered: (when, pan, MoveStatus).
        self.polls: list[tuple[float, float, str]] = []

    def state(self, elapsed: float) -> tuple[float, str]:
        raise NotImplementedError

    async def send(self, request: HttpRequest) -> HttpResponse:
        operation = operation_of(request.body)
        if operation == "GetStatus":
            now = time.monotonic()
            x, state = self.state(now - self.commanded)
            self.polls.append((now, x, state))
            return HttpResponse(200, STATUS.format(x=x, state=state).encode())
        if operation not in READS:
            self.commanded = time.monotonic()
            self.commands.append(operation)
        return HttpResponse(200, EMPTY.format(operation=operation).encode())

    async def aclose(self) -> None:
        pass


class LazyHead(ScriptedHead):
    """IDLE at 0.0 for 0.3 s after a command, MOVING for 0.2 s, then IDLE at 0.5."""

    TARGET = 0.5

    def state(self, elapsed: float) -> tuple[float, str]:
        if elapsed < 0.3:
            return 0.0, "IDLE"
        if elapsed < 0.5:
            return (elapsed - 0.3) / 0.2 * self.TARGET, "MOVING"
        return self.TARGET, "IDLE"


class RunawayHead(ScriptedHead):
    """MOVING for ever, creeping along."""

    def state(self, elapsed: float) -> tuple[float, str]:
        return min(elapsed / 100, 1.0), "MOVING"


class StuckHead(ScriptedHead):
    """IDLE at 0.2; refuses every AbsoluteMove with a SOAP fault (a motor that has failed)."""

    FAULT = """<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault>
  <s:Code><s:Value>s:Receiver</s:Value></s:Code><s:Reason><s:Text xml:lang="en">motor fault
  </s:Text></s:Reason></s:Fault></s:Body></s:Envelope>"""

    def state(self, elapsed: float) -> tuple[float, str]:
        return 0.2, "IDLE"

    async def send(self, request: HttpRequest) -> HttpResponse:
        if operation_of(request.body) == "AbsoluteMove":
            self.commands.append("AbsoluteMove")
            return HttpResponse(500, self.FAULT.encode())
        return await super().send(request)
