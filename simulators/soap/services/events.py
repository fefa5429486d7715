"""Event service (ONVIF Core 9, tev): event properties and pull-point subscriptions.

A subscription's address is ``/onvif/Subscription?Idx=N`` on the camera's HTTP port: its
PullMessages, SetSynchronizationPoint, Renew and Unsubscribe are sent there, and the index
says which subscription they are for (:mod:`simulators.events` keeps them).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import isodate
from lxml import etree

from simulators import events
from simulators.events import EventBroker, Message, Subscription, TooManySubscriptions
from simulators.soap.envelope import SoapFault, receiver_fault, sender_fault
from simulators.soap.registry import Access, Context, Routes

ROUTES = Routes("events")

TT = "http://www.onvif.org/ver10/schema"
WSTOP = "http://docs.oasis-open.org/wsn/t-1"
TNS1 = "http://www.onvif.org/ver10/topics"
CONCRETE_SET = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"
TOPIC_DIALECTS = [CONCRETE_SET, "http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete"]
MESSAGE_FILTER = "http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter"


def broker(ctx: Context) -> EventBroker:
    return ctx.state.events


# -- GetEventProperties --------------------------------------------------------------------------
def topic_set() -> etree._Element:
    """wstop:TopicSet content: every topic with its message description."""
    root = etree.Element(f"{{{WSTOP}}}TopicSet", nsmap={"wstop": WSTOP, "tt": TT,
                                                        "tns1": TNS1})
    for topic, info in events.TOPICS.items():
        parent = root
        steps = topic.removeprefix("tns1:").split("/")
        for depth, step in enumerate(steps):
            tag = f"{{{TNS1}}}{step}" if depth == 0 else step
            found = parent.find(tag)
            parent = found if found is not None else etree.SubElement(parent, tag)
        parent.set(f"{{{WSTOP}}}topic", "true")
        description = etree.SubElement(parent, f"{{{TT}}}MessageDescription",
                                       IsProperty="true")
        for part, items in (("Source", info.source), ("Data", info.data)):
            if items:
                holder = etree.SubElement(description, f"{{{TT}}}{part}")
                for name, kind in items:
                    etree.SubElement(holder, f"{{{TT}}}SimpleItemDescription", Name=name,
                                     Type=kind)
    return root


@ROUTES.operation("GetEventProperties", Access.READ_MEDIA)
def get_event_properties(ctx: Context, request: Any) -> dict[str, Any]:
    return {
        "TopicNamespaceLocation": ["http://www.onvif.org/onvif/ver10/topics/topicns.xml"],
        "FixedTopicSet": True,
        "TopicSet": {"_value_1": list(topic_set())},
        "TopicExpressionDialect": TOPIC_DIALECTS,
        "MessageContentFilterDialect": [MESSAGE_FILTER],
        "MessageContentSchemaLocation": ["http://www.onvif.org/onvif/ver10/schema/onvif.xsd"],
    }


# -- subscriptions -------------------------------------------------------------------------------
def termination_time(value: object, now: datetime, what: str) -> datetime | None:
    """An AbsoluteOrRelativeTimeType (``PT60S`` or a dateTime) as a camera time."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, timedelta):
            return now + value
        else:
            text = str(value).strip()
            if text.startswith(("P", "-P")):
                duration: timedelta | isodate.Duration = isodate.parse_duration(text)
                if not isinstance(duration, timedelta):  # years/months: not a fixed length
                    duration = duration.totimedelta(start=now)
                if duration <= timedelta(0):
                    raise ValueError("not in the future")
                return now + duration
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, isodate.ISO8601Error) as exc:
        raise sender_fault(f"{what} {value!r}: {exc}", "ter:InvalidArgVal",
                           "wsrf-rw:UnacceptableTerminationTimeFault") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment <= now:
        raise sender_fault(f"{what} {value!r} is not in the future", "ter:InvalidArgVal",
                           "wsrf-rw:UnacceptableTerminationTimeFault")
    return moment


def _filter_topics(request: Any) -> tuple[str, ...]:
    found = []
    for element in getattr(getattr(request, "Filter", None), "_value_1", None) or []:
        if isinstance(element, etree._Element) and etree.QName(element).localname == \
                "TopicExpression":
            found.append((element.text or "").strip())
    return tuple(topic for topic in found if topic)


def subscription_address(ctx: Context, subscription: Subscription) -> str:
    return f"{ctx.base_url}/onvif/Subscription?Idx={subscription.id}"


@ROUTES.operation("CreatePullPointSubscription", Access.READ_MEDIA)
def create_pull_point_subscription(ctx: Context, request: Any) -> dict[str, Any]:
    events_ = broker(ctx)
    now = events_.now()
    termination = termination_time(getattr(request, "InitialTerminationTime", None), now,
                                   "InitialTerminationTime")
    try:
        subscription = events_.subscribe(termination, _filter_topics(request))
    except TooManySubscriptions as exc:
        raise receiver_fault(str(exc), "ter:CapabilityViolated", "ter:MaxPullPoints") from exc
    return {"SubscriptionReference": {"Address": {"_value_1": subscription_address(
                ctx, subscription)}},
            "CurrentTime": now, "TerminationTime": subscription.termination}


def _subscription(ctx: Context) -> Subscription:
    query = parse_qs(urlsplit(ctx.path).query)
    index = (query.get("Idx") or [""])[0]
    found = broker(ctx).get(int(index)) if re.fullmatch(r"\d{1,9}", index) else None
    if found is None:
        raise SoapFault("Sender", ("ter:InvalidArgVal", "wsrf-rw:ResourceUnknownFault"),
                        f"no subscription at {ctx.path or 'this address'} (ended or unknown)")
    return found


def _message(message: Message) -> dict[str, Any]:
    body = etree.Element(f"{{{TT}}}Message", nsmap={"tt": TT},
                         UtcTime=message.utc_time.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                         PropertyOperation=message.operation)
    for part, items in (("Source", message.source), ("Data", message.data)):
        holder = etree.SubElement(body, f"{{{TT}}}{part}")
        for name, value in items:
            etree.SubElement(holder, f"{{{TT}}}SimpleItem", Name=name, Value=value)
    return {"Topic": {"_value_1": message.topic, "Dialect": CONCRETE_SET},
            "Message": {"_value_1": body}}


@ROUTES.operation("PullMessages", Access.READ_MEDIA)
def pull_messages(ctx: Context, request: Any) -> Awaitable[dict[str, Any]]:
    subscription = _subscription(ctx)
    timeout = getattr(request, "Timeout", None)
    limit = getattr(request, "MessageLimit", None)
    if isinstance(timeout, isodate.Duration):  # years or months: not a fixed length
        timeout = timeout.totimedelta(start=datetime.now(UTC))
    if not isinstance(timeout, timedelta):
        raise sender_fault(f"Timeout {timeout!r} is not a duration", "ter:InvalidArgVal")
    if timeout < timedelta(0) or timeout > events.MAX_PULL_TIMEOUT:
        # ONVIF Core 9.6: the fault names the bounds the device supports.
        raise sender_fault(f"Timeout {timeout} is outside 0..{events.MAX_PULL_TIMEOUT} "
                           f"(MaxTimeout PT{int(events.MAX_PULL_TIMEOUT.total_seconds())}S, "
                           f"MaxMessageLimit {events.MAX_MESSAGES})", "ter:InvalidArgVal")
    if not isinstance(limit, int) or limit < 1:
        raise sender_fault(f"MessageLimit {limit!r} is not a positive number",
                           "ter:InvalidArgVal")

    async def wait() -> dict[str, Any]:
        # A limit above the maximum is served with the maximum (Core 9.6 allows fewer).
        messages = await broker(ctx).pull(subscription, timeout, limit)
        return {"CurrentTime": broker(ctx).now(), "TerminationTime": subscription.termination,
                "NotificationMessage": [_message(m) for m in messages]}

    return wait()


@ROUTES.operation("SetSynchronizationPoint", Access.READ_MEDIA)
def set_synchronization_point(ctx: Context, request: Any) -> dict[str, Any]:
    broker(ctx).synchronize(_subscription(ctx))
    return {}


@ROUTES.operation("Renew", Access.READ_MEDIA)
def renew(ctx: Context, request: Any) -> dict[str, Any]:
    subscription = _subscription(ctx)
    events_ = broker(ctx)
    now = events_.now()
    events_.renew(subscription, termination_time(getattr(request, "TerminationTime", None),
                                                 now, "TerminationTime"))
    return {"TerminationTime": subscription.termination, "CurrentTime": now}


@ROUTES.operation("Unsubscribe", Access.READ_MEDIA)
def unsubscribe(ctx: Context, request: Any) -> dict[str, Any]:
    broker(ctx).unsubscribe(_subscription(ctx).id)
    return {}
