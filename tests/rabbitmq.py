"""RabbitMQ for the tests: the broker collectors and coordinators meet on.

The machines run RabbitMQ at 127.0.0.1:5672 (guest/guest); ``CAMFLEET_TEST_BROKER`` names
another broker. Where none answers, the tests that need one skip, saying how to start it;
with ``CAMFLEET_REQUIRE_RABBITMQ=1`` (set by ``.ci/run``) they fail instead, so CI cannot
pass with the city untested. Each test uses queues of its own (``t<random>-<district>``),
so runs side by side (xdist, other checkouts) never take each other's work.
"""

from __future__ import annotations

import functools
import os
import uuid

import pytest

BROKER_URL = os.environ.get("CAMFLEET_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
HOW_TO_START = ("start it with `rabbitmq-server -detached` (Debian's rabbitmq-server "
                "package), or set CAMFLEET_TEST_BROKER to the URL of one")


@functools.cache
def unavailable() -> str | None:
    """Why the RabbitMQ tests cannot run here (None: they can)."""
    try:
        from kombu.connection import Connection  # noqa: PLC0415
    except ImportError:
        return "Celery is not installed (pip install -e '.[test]')"
    try:
        with Connection(BROKER_URL, connect_timeout=3) as conn:  # type: ignore[no-untyped-call]
            conn.ensure_connection(max_retries=1)
    except Exception as exc:
        return f"no RabbitMQ answers at {BROKER_URL} ({exc})"
    return None


def require() -> None:
    """Skip (or, with CAMFLEET_REQUIRE_RABBITMQ=1, fail) the test if RabbitMQ is absent."""
    reason = unavailable()
    if reason is None:
        return
    message = f"city tests need a RabbitMQ broker: {reason}; {HOW_TO_START}"
    if os.environ.get("CAMFLEET_REQUIRE_RABBITMQ") == "1":
        pytest.fail(f"{message} (CAMFLEET_REQUIRE_RABBITMQ=1: they must run here)")
    pytest.skip(message)


def queue_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"
