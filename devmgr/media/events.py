"""A camera's own events over ONVIF pull points: tamper (and optionally motion), for a fleet.

Per camera: the clock (WS-Security is stamped in the camera's time), the event service's
address (GetServices), then CreatePullPointSubscription and PullMessages in a loop, each a
long poll of ``pull_s``, renewed before it ends; when anything fails the camera is subscribed
again after a pause that doubles up to a minute. A new subscription gets the current state of
every property first (``Initialized``), as ONVIF Core 9.6 asks.

Everything in a notification comes from the device: at most ``MessageLimit`` messages are read
of a reply, strings are cut to :data:`MAX_TEXT`, a time stamp that is no time is dropped, and
the pull point's address is used only for its path, on the camera's own host.

    async for event in follow_events(targets, EventWatch(duration_s=60)):
        print(event.camera, event.topic, event.state)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice

from lxml import etree

from camfleet.errors import ErrorKind
from camfleet.targets import Target
from devmgr.inventory.collect import Collector, service_map
from devmgr.media.model import CameraEvent
from devmgr.onvif.errors import OnvifError
from devmgr.onvif.session import OnvifPool, OnvifSession, Timeouts
from devmgr.onvif.xml import child_text, parse_xs_datetime

__all__ = ["MAX_TEXT", "EventWatch", "follow_events", "is_wanted", "parse_notifications"]

#: Device strings are kept this long at most.
MAX_TEXT = 256
#: Topics of a camera judging its own view (ONVIF Profile T; DESIGN.md lists those seen).
TAMPER = frozenset({"GlobalSceneChange", "ImageTooBlurry", "ImageTooDark", "ImageTooBright"})
_STATE_ITEMS = ("State", "IsTamper", "IsMotion", "IsTooBlurry", "IsGlobalSceneChange")
_WSA = "http://www.w3.org/2005/08/addressing"
Status = Callable[[str, str], None]


def is_wanted(topic: str, *, motion: bool) -> bool:
    """A tamper topic (``tns1:VideoSource/GlobalSceneChange/...``), or with ``motion`` a
    motion one (``VideoSource/MotionAlarm``, ``RuleEngine/CellMotionDetector/Motion``), in
    whatever prefix the camera binds the ONVIF topic namespace to."""
    parts = [p.rpartition(":")[2] for p in topic.split("/")]
    if len(parts) >= 2 and parts[0] == "VideoSource" and parts[1] in TAMPER:
        return True
    return motion and (parts[:2] == ["VideoSource", "MotionAlarm"]
                       or parts[:3] == ["RuleEngine", "CellMotionDetector", "Motion"])


def _time(text: str | None) -> datetime | None:
    try:
        return parse_xs_datetime(text[:64] if text else text)
    except (ValueError, OverflowError):  # year 10^20, month 13: no time at all
        return None


def _items(holder: etree._Element | None) -> list[tuple[str, str]]:
    if holder is None:
        return []
    return [((item.get("Name") or "")[:MAX_TEXT], (item.get("Value") or "")[:MAX_TEXT])
            for item in islice(holder.iterfind("{*}SimpleItem"), 16)]


def parse_notifications(body: etree._Element, *, camera: str, target_id: str, via: str,
                        limit: int) -> list[CameraEvent]:
    """The notifications of a PullMessagesResponse, at most ``limit`` of them."""
    received = datetime.now(UTC)
    events = []
    for note in islice(body.iterfind("{*}NotificationMessage"), limit):
        message = note.find("{*}Message/{*}Message")
        data = _items(message.find("{*}Data") if message is not None else None)
        state = next((v for n, v in data if n in _STATE_ITEMS), data[0][1] if data else "")
        source = _items(message.find("{*}Source") if message is not None else None)
        events.append(CameraEvent(
            camera=camera, target_id=target_id,
            topic=(child_text(note, "{*}Topic") or "")[:MAX_TEXT], state=state,
            operation=((message.get("PropertyOperation") if message is not None else "")
                       or "")[:32],
            utc_time=_time(message.get("UtcTime")) if message is not None else None,
            received_at=received, source=" ".join(f"{n}={v}" for n, v in source)[:MAX_TEXT],
            via=via))
    return events


@dataclass(frozen=True)
class EventWatch:
    """How events are followed. ``duration_s``: stop after this long (None: until cancelled)."""

    motion: bool = False
    #: Long poll of one PullMessages (the camera answers at once when it has messages).
    pull_s: float = 10.0
    #: Subscription lifetime asked for; renewed at half of it.
    termination_s: float = 60.0
    message_limit: int = 100
    duration_s: float | None = None
    #: Pause before subscribing again after a failure (doubles up to ``max_retry_s``).
    retry_s: float = 2.0
    max_retry_s: float = 60.0
    via: str = "monitor"


class _PullPoint:
    """One subscription on one camera."""

    def __init__(self, session: OnvifSession, address: str, watch: EventWatch) -> None:
        self.session, self.address, self.watch = session, address, watch
        self.renewed = time.monotonic()

    @classmethod
    async def create(cls, session: OnvifSession, watch: EventWatch) -> _PullPoint:
        reply = await session.call("events", "CreatePullPointSubscription", {
            "InitialTerminationTime": f"PT{int(watch.termination_s)}S"})
        address = child_text(reply, "{*}SubscriptionReference/{*}Address")
        if not address:
            raise OnvifError(ErrorKind.PROTOCOL, "CreatePullPointSubscription",
                             "no subscription address in the reply")
        return cls(session, address[:2048], watch)

    def _header(self, action: str) -> bytes:
        # Some firmware routes pull-point requests by WS-Addressing, not by URL.
        to = self.session.on_camera(self.address)
        return (f'<wsa:Action xmlns:wsa="{_WSA}">{action}</wsa:Action>'
                f'<wsa:To xmlns:wsa="{_WSA}">{_xml_text(to)}</wsa:To>').encode()

    async def pull(self) -> etree._Element:
        if time.monotonic() - self.renewed > self.watch.termination_s / 2:
            await self.session.call_at(
                self.address, "events", "Renew",
                {"TerminationTime": f"PT{int(self.watch.termination_s)}S"},
                header=self._header("http://docs.oasis-open.org/wsn/bw-2/SubscriptionManager/"
                                    "RenewRequest"))
            self.renewed = time.monotonic()
        return await self.session.call_at(
            self.address, "events", "PullMessages",
            {"Timeout": timedelta(seconds=self.watch.pull_s),
             "MessageLimit": self.watch.message_limit},
            header=self._header("http://www.onvif.org/ver10/events/wsdl/PullPointSubscription/"
                                "PullMessagesRequest"))

    async def unsubscribe(self) -> None:
        with contextlib.suppress(OnvifError, TimeoutError):
            async with asyncio.timeout(2.0):
                await self.session.call_at(
                    self.address, "events", "Unsubscribe",
                    header=self._header("http://docs.oasis-open.org/wsn/bw-2/"
                                        "SubscriptionManager/UnsubscribeRequest"))


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def _follow(pool: OnvifPool, target: Target, watch: EventWatch,
                  queue: asyncio.Queue[CameraEvent], status: Status) -> None:
    """One camera, subscribed again and again until cancelled."""
    pause = watch.retry_s
    while True:
        session = OnvifSession(pool, target.device_url, target.onvif.username,
                               target.onvif_password())
        pullpoint: _PullPoint | None = None
        try:
            await session.sync_clock()
            collector = Collector(session)
            services = await service_map(collector)
            if not any(ns.endswith("/events/wsdl") for ns in services):
                kind = collector.errors[0].kind if collector.errors else ErrorKind.PROTOCOL
                raise OnvifError(kind, "GetServices", "; ".join(
                    e.message for e in collector.errors) or "the camera offers no event service")
            pullpoint = await _PullPoint.create(session, watch)
            status(target.id, "subscribed")
            pause = watch.retry_s
            while True:
                body = await pullpoint.pull()
                for event in parse_notifications(body, camera=target.id, target_id=target.id,
                                                 via=watch.via, limit=watch.message_limit):
                    if is_wanted(event.topic, motion=watch.motion):
                        await queue.put(event)
        except OnvifError as exc:
            status(target.id, f"{exc.kind.value}: {exc}; subscribing again in {pause:g} s")
        finally:
            if pullpoint is not None:
                await asyncio.shield(pullpoint.unsubscribe())
        await asyncio.sleep(pause)
        pause = min(pause * 2, watch.max_retry_s)


async def follow_events(targets: Sequence[Target], watch: EventWatch = EventWatch(), *,
                        status: Status | None = None) -> AsyncIterator[CameraEvent]:
    """The wanted events of every camera, as they come; ``status(camera, words)`` hears of
    subscriptions made and lost."""
    queue: asyncio.Queue[CameraEvent] = asyncio.Queue(maxsize=1000)
    timeouts = Timeouts(call=watch.pull_s + 5.0)  # a long poll is no hung call
    deadline = None if watch.duration_s is None else time.monotonic() + watch.duration_s
    async with OnvifPool(limit=max(16, 2 * len(targets)), timeouts=timeouts) as pool:
        tasks = [asyncio.ensure_future(_follow(pool, t, watch, queue, status or _quiet))
                 for t in targets]
        try:
            while True:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return
                try:
                    async with asyncio.timeout(left):
                        event = await queue.get()
                except TimeoutError:
                    return
                yield event  # outside the timeout: it must not fire in the consumer's code
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def _quiet(camera: str, words: str) -> None:
    pass


async def tamper_state(pool: OnvifPool, target: Target, services: dict[str, str], *,
                       camera: str, wait_s: float = 1.0) -> list[CameraEvent]:
    """The camera's own tamper verdict now, for the audit: subscribe, take what comes within
    ``wait_s`` (every property's current state first), unsubscribe. Empty when the camera
    has no event service or the subscription fails (the audit's other checks still stand)."""
    xaddr = next((x for ns, x in services.items() if ns.endswith("/ver10/events/wsdl")), "")
    if not xaddr:
        return []
    session = OnvifSession(pool, target.device_url, target.onvif.username,
                           target.onvif_password())
    watch = EventWatch(pull_s=wait_s, via="audit")
    pullpoint: _PullPoint | None = None
    try:
        async with asyncio.timeout(pool.timeouts.call * 3 + wait_s):
            await session.sync_clock()
            session.set_xaddr("events", xaddr)
            pullpoint = await _PullPoint.create(session, watch)
            body = await pullpoint.pull()
        return [e for e in parse_notifications(body, camera=camera, target_id=target.id,
                                               via="audit", limit=watch.message_limit)
                if is_wanted(e.topic, motion=False)]
    except (OnvifError, TimeoutError):
        return []
    finally:
        if pullpoint is not None:
            await pullpoint.unsubscribe()
