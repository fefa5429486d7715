"""A simulated camera's events: properties it raises, and the pull-point subscriptions that
receive them (ONVIF Core 9, WS-BaseNotification pull points).

The camera sets *properties* (``tns1:VideoSource/MotionAlarm`` is true while something moves
in view); each change becomes a ``Changed`` message in every subscription's queue. A new
subscription, and SetSynchronizationPoint, get every property's current value as
``Initialized`` messages first, as ONVIF Core 9.6 asks of property events.

Bounds, so no client can make a camera grow: at most :data:`MAX_PULL_POINTS` subscriptions
(more are refused with ``ter:MaxPullPoints``), :data:`MAX_QUEUE` queued messages each (the
oldest go), termination times within :data:`MAX_TERMINATION`, PullMessages waits at most
:data:`MAX_PULL_TIMEOUT` and returns at most :data:`MAX_MESSAGES`. A subscription ends at its
termination time whether or not anyone asks (a timer runs while subscriptions exist: an idle
camera has none).

    >>> from datetime import UTC, datetime
    >>> events = EventBroker(lambda: datetime(2026, 1, 1, tzinfo=UTC))
    >>> events.set_property(MOTION, True)
    >>> sub = events.subscribe(None)
    >>> [(m.topic, m.operation, m.data) for m in sub.take(10)]
    [('tns1:VideoSource/MotionAlarm', 'Initialized', (('State', 'true'),))]
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

__all__ = [
    "BLURRY",
    "LAST_REBOOT",
    "MAX_PULL_POINTS",
    "MOTION",
    "SCENE_CHANGE",
    "TOPICS",
    "EventBroker",
    "Message",
    "Subscription",
    "TooManySubscriptions",
    "TopicInfo",
]

MAX_PULL_POINTS = 8
MAX_QUEUE = 256
MAX_MESSAGES = 100
MAX_PULL_TIMEOUT = timedelta(minutes=5)
MAX_TERMINATION = timedelta(hours=1)
DEFAULT_TERMINATION = timedelta(minutes=1)

VIDEO_SOURCE = "VideoSource_1"
MOTION = "tns1:VideoSource/MotionAlarm"
SCENE_CHANGE = "tns1:VideoSource/GlobalSceneChange/ImagingService"
BLURRY = "tns1:VideoSource/ImageTooBlurry/ImagingService"
#: ONVIF's reboot topic; ONVIF's Device branch has none for a reboot, which is why real
#: firmware that follows the topic set (rather than a vendor namespace) raises this one.
LAST_REBOOT = "tns1:Monitoring/OperatingTime/LastReboot"


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """What GetEventProperties says of a topic: its source and data items and their types."""

    source: tuple[tuple[str, str], ...]
    data: tuple[tuple[str, str], ...]


TOPICS: dict[str, TopicInfo] = {
    MOTION: TopicInfo((("Source", "tt:ReferenceToken"),), (("State", "xs:boolean"),)),
    SCENE_CHANGE: TopicInfo((("Source", "tt:ReferenceToken"),), (("State", "xs:boolean"),)),
    BLURRY: TopicInfo((("Source", "tt:ReferenceToken"),), (("State", "xs:boolean"),)),
    LAST_REBOOT: TopicInfo((), (("Status", "xs:dateTime"),)),
}


class TooManySubscriptions(Exception):
    """Every pull point is taken."""


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    utc_time: datetime
    operation: Literal["Initialized", "Changed", "Deleted"]
    source: tuple[tuple[str, str], ...]
    data: tuple[tuple[str, str], ...]


@dataclass(eq=False)
class Subscription:
    id: int
    termination: datetime
    #: Topic prefixes the client asked for; empty: every topic.
    topics: tuple[str, ...] = ()
    queue: deque[Message] = field(default_factory=lambda: deque(maxlen=MAX_QUEUE))
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def wants(self, topic: str) -> bool:
        return not self.topics or any(_matches(topic, wanted) for wanted in self.topics)

    def put(self, message: Message) -> None:
        if self.wants(message.topic):
            self.queue.append(message)
            self.arrived.set()

    def take(self, limit: int) -> list[Message]:
        taken = [self.queue.popleft() for _ in range(min(limit, len(self.queue)))]
        if not self.queue:
            self.arrived.clear()
        return taken


def _matches(topic: str, wanted: str) -> bool:
    """ONVIF's ConcreteSet dialect: a topic, or a subtree with ``//.``; ``|`` separates
    alternatives."""
    for part in wanted.split("|"):
        alternative = part.strip()
        if alternative.endswith("//."):
            if topic.startswith(alternative[:-3].rstrip("/")):
                return True
        elif topic == alternative or topic.startswith(alternative + "/"):
            return True
    return False


class EventBroker:
    """The events of one camera. ``clock`` is the camera's UTC (it may be skewed)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._ids = itertools.count(1)
        self.subscriptions: dict[int, Subscription] = {}
        #: topic -> (source items, data items) of the property's current value
        self._properties: dict[str, tuple[tuple[tuple[str, str], ...],
                                          tuple[tuple[str, str], ...]]] = {}
        self._reaper: asyncio.TimerHandle | None = None
        #: Called while subscriptions exist, every :attr:`poll_interval_s` (motion sensing).
        self.poll: Callable[[], None] | None = None
        self.poll_interval_s = 0.2
        self._poller: asyncio.Task[None] | None = None

    def now(self) -> datetime:
        return self._clock()

    # -- properties ----------------------------------------------------------------------------
    def set_property(self, topic: str, value: bool | datetime,
                     source: str | None = VIDEO_SOURCE) -> None:
        info = TOPICS[topic]
        text = (("true" if value else "false") if isinstance(value, bool)
                else value.strftime("%Y-%m-%dT%H:%M:%SZ"))
        items = ((info.source[0][0], source),) if info.source and source else ()
        current = (items, ((info.data[0][0], text),))
        if self._properties.get(topic) == current:
            return
        first = topic not in self._properties
        self._properties[topic] = current
        message = Message(topic, self.now(), "Initialized" if first else "Changed", *current)
        for subscription in self._live():
            subscription.put(message)

    def properties(self) -> list[Message]:
        """Every property's current value, as Initialized messages."""
        now = self.now()
        return [Message(topic, now, "Initialized", source, data)
                for topic, (source, data) in self._properties.items()]

    # -- subscriptions -------------------------------------------------------------------------
    def subscribe(self, termination: datetime | None, topics: tuple[str, ...] = ()
                  ) -> Subscription:
        live = self._live()
        if len(live) >= MAX_PULL_POINTS:
            raise TooManySubscriptions(f"all {MAX_PULL_POINTS} pull points are in use")
        subscription = Subscription(next(self._ids), self.bounded(termination), topics)
        for message in self.properties():
            subscription.put(message)
        self.subscriptions[subscription.id] = subscription
        self._schedule()
        return subscription

    def bounded(self, termination: datetime | None) -> datetime:
        now = self.now()
        if termination is None:
            return now + DEFAULT_TERMINATION
        return min(termination, now + MAX_TERMINATION)

    def get(self, subscription_id: int) -> Subscription | None:
        subscription = self.subscriptions.get(subscription_id)
        if subscription is not None and subscription.termination <= self.now():
            self.unsubscribe(subscription_id)
            return None
        return subscription

    def renew(self, subscription: Subscription, termination: datetime | None) -> None:
        subscription.termination = self.bounded(termination)
        self._schedule()

    def unsubscribe(self, subscription_id: int) -> None:
        subscription = self.subscriptions.pop(subscription_id, None)
        if subscription is not None:
            subscription.arrived.set()  # a PullMessages waiting on it returns now

    def synchronize(self, subscription: Subscription) -> None:
        for message in self.properties():
            subscription.put(message)

    def clear(self) -> None:
        """A reboot: every subscription is gone (clients notice and subscribe again)."""
        for subscription_id in list(self.subscriptions):
            self.unsubscribe(subscription_id)
        self._schedule()

    def close(self) -> None:
        """The camera stops: no subscription, no timer, no polling left behind."""
        self.clear()
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None

    async def pull(self, subscription: Subscription, wait: timedelta,
                   limit: int) -> list[Message]:
        """Up to ``limit`` messages, waiting until one comes or ``wait`` passes (the
        PullMessages Timeout: a protocol value, bounded here, not a local deadline)."""
        if not subscription.queue:
            seconds = max(0.0, min(wait, MAX_PULL_TIMEOUT).total_seconds())
            try:
                async with asyncio.timeout(seconds):
                    await subscription.arrived.wait()
            except TimeoutError:
                pass
        if subscription.id not in self.subscriptions:
            return []
        return subscription.take(max(0, min(limit, MAX_MESSAGES)))

    # -- time ----------------------------------------------------------------------------------
    def _live(self) -> list[Subscription]:
        now = self.now()
        for subscription in list(self.subscriptions.values()):
            if subscription.termination <= now:
                self.unsubscribe(subscription.id)
        return list(self.subscriptions.values())

    def _schedule(self) -> None:
        """End subscriptions at their termination time; poll while there are any."""
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        live = self._live()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # used without a loop (doctests): ended lazily instead
            return
        if live:
            due = min(s.termination for s in live) - self.now()
            self._reaper = loop.call_later(max(0.0, due.total_seconds()) + 0.01, self._schedule)
            if self.poll is not None and (self._poller is None or self._poller.done()):
                self._poller = loop.create_task(self._polling())

    async def _polling(self) -> None:
        while self.subscriptions and self.poll is not None:
            self.poll()
            await asyncio.sleep(self.poll_interval_s)
