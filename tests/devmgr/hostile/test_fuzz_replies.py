"""Property: whatever values a camera's replies carry, an inventory ends with the camera's
classified errors, never an exception, and its record serializes (registry, JSON, terminal).

The replies are a simulated camera's own (in this process, through the transport seam), each
with one value replaced: an extreme number, a date or duration no calendar holds, markup and
control text, or arbitrary text; sometimes an element repeated or the reply cut short. An
example is up to 14 replies (fewer where an early one is refused): the default 500 examples are
about 5,000 replies, and with ``test_fuzz_parsers.py`` over 10,000 per run. Set
``HOSTILE_FUZZ_EXAMPLES`` for a longer run.
"""

from __future__ import annotations

import asyncio
import os
import random
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camfleet.errors import ErrorKind
from camfleet.http import HttpRequest, HttpResponse
from camfleet.printable import printable
from camfleet.targets import OnvifCredentials, Target
from devmgr.inventory.collect import collect_inventory
from devmgr.inventory.model import Inventory
from devmgr.onvif.session import OnvifPool
from simulators.camera import SimulatedCamera
from simulators.soap.inprocess import InProcessTransport
from simulators.spec import CameraSpec
from tests.devmgr.hostile.mutations import EXTREMES

EXAMPLES = int(os.environ.get("HOSTILE_FUZZ_EXAMPLES", "500"))
TEXT = re.compile(rb">([^<>]{1,200})</")
ATTRIBUTE = re.compile(rb'(\s[\w:]+=")([^"]{0,200})(")')


class MutatingTransport:
    """The camera's replies, each with one mutation drawn up front (see the module doc)."""

    def __init__(self, inner: InProcessTransport, seed: int, values: list[str]) -> None:
        self.inner = inner
        self.rng = random.Random(seed)
        self.values = values
        self.replies = 0

    async def send(self, request: HttpRequest) -> HttpResponse:
        reply = await self.inner.send(request)
        if reply.status != 200 or not reply.body.startswith(b"<"):
            return reply
        self.replies += 1
        return HttpResponse(reply.status, self.mutate(reply.body), reply.reason,
                            reply.content_type, reply.challenges)

    def mutate(self, body: bytes) -> bytes:
        value = self.rng.choice(self.values).encode("utf-8", "surrogatepass")
        pattern = self.rng.choice((TEXT, ATTRIBUTE, TEXT))
        matches = list(pattern.finditer(body))
        roll = self.rng.random()
        if roll < 0.05:
            return body[:self.rng.randrange(len(body))]
        if not matches:
            return body
        found = self.rng.choice(matches)
        start, end = found.span(2 if pattern is ATTRIBUTE else 1)
        if roll < 0.1:  # the element, many times over
            open_at = body.rfind(b"<", 0, start)
            close_at = body.find(b">", end) + 1
            return body[:close_at] + body[open_at:close_at] * 200 + body[close_at:]
        escaped = value.replace(b"&", b"&amp;").replace(b"<", b"&lt;").replace(b'"', b"&quot;")
        return body[:start] + escaped + body[end:]

    async def aclose(self) -> None:
        await self.inner.aclose()


async def inventory_with(seed: int, values: list[str]) -> tuple[Inventory, int]:
    camera = SimulatedCamera(CameraSpec.example())
    admin = camera.spec.users[0]
    target = Target(id=camera.spec.id, address=camera.address, http_port=camera.http_port,
                    onvif=OnvifCredentials(username=admin.username, password=admin.password))
    transport = MutatingTransport(InProcessTransport([camera.http]), seed, values)
    async with OnvifPool(transport=transport) as pool:
        inventory = await collect_inventory(pool, target)
    return inventory, transport.replies


VALUES = st.lists(st.sampled_from(EXTREMES) | st.text(max_size=40) | st.floats().map(repr)
                  | st.integers().map(str), min_size=1, max_size=8)


def test_no_reply_value_escapes_classification() -> None:
    replies = 0

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(seed=st.integers(0, 2**32), values=VALUES)
    def one_camera(seed: int, values: list[str]) -> None:
        nonlocal replies
        inventory, seen = asyncio.run(inventory_with(seed, values))
        replies += seen
        assert all(isinstance(e.kind, ErrorKind) for e in inventory.errors)
        assert all(len(e.message) <= 2100 for e in inventory.errors)
        Inventory.model_validate_json(inventory.model_dump_json())  # what the registry stores
        printable(str(inventory))

    one_camera()
    assert replies >= EXAMPLES * 5  # it really ran over replies, not refused at the first
