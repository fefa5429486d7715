"""The fleet's control endpoint: local HTTP/JSON over the ``Fleet`` Python API.

    GET    /cameras                       ids, addresses, faults in force
    GET    /cameras/{id}                  the truth: effective spec, PTZ, mount, boots, faults
    PUT    /cameras/{id}/faults           body: [fault, ...]   replace the faults in force
    POST   /cameras/{id}/faults           body: fault          add one
    DELETE /cameras/{id}/faults[/{kind}]  clear all, or those of one kind
    POST   /cameras/{id}/reboot
    GET    /manifest                      the fleet as a targets file
    GET    /stats                         cameras and requests served per worker

Listens on 127.0.0.1 only: whoever reaches it can break every camera. Errors come back as
``{"error": "..."}`` with 400 (bad request) or 404 (no such camera).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from aiohttp import web

from camfleet.targets import TargetsFile
from simulators.fleet.errors import FleetError, NoSuchCamera


class Controllable(Protocol):
    """What the endpoint asks of the fleet it serves (``Fleet`` is one)."""

    def manifest(self) -> TargetsFile: ...

    def truth(self, camera_id: str) -> dict[str, Any]: ...

    def set_faults(self, camera_id: str, faults: Sequence[Any]) -> list[dict[str, Any]]: ...

    def add_fault(self, camera_id: str, fault: Any) -> list[dict[str, Any]]: ...

    def clear_faults(self, camera_id: str, kind: str | None = None) -> list[dict[str, Any]]: ...

    def reboot(self, camera_id: str) -> None: ...

    def set_world(self, camera_id: str, changes: dict[str, Any]) -> dict[str, Any]: ...

    def stats(self) -> dict[str, Any]: ...


class ControlServer:
    """Runs the control API on its own event loop thread beside the (synchronous) Fleet."""

    def __init__(self, fleet: Controllable, port: int = 0, host: str = "127.0.0.1") -> None:
        self.fleet = fleet
        self.host = host
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fleet-control",
                                        daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)

    async def _start(self) -> None:
        app = web.Application(middlewares=[_errors])
        routes = [
            web.get("/cameras", self._list),
            web.get("/cameras/{id}", self._truth),
            web.put("/cameras/{id}/faults", self._set_faults),
            web.post("/cameras/{id}/faults", self._add_fault),
            web.delete("/cameras/{id}/faults", self._clear_faults),
            web.delete("/cameras/{id}/faults/{kind}", self._clear_faults),
            web.post("/cameras/{id}/reboot", self._reboot),
            web.put("/cameras/{id}/world", self._set_world),
            web.get("/manifest", self._manifest),
            web.get("/stats", self._stats),
        ]
        app.add_routes(routes)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server: Any = site._server
        self.port = int(server.sockets[0].getsockname()[1])

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    # The Fleet API blocks on worker pipes: run it off this loop.
    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    async def _list(self, request: web.Request) -> web.Response:
        manifest = self.fleet.manifest()
        members = manifest.fleet.members if manifest.fleet else {}
        return web.json_response([{"id": t.id, "address": t.address,
                                   "faults": list(members[t.id].faults) if t.id in members
                                   else []}
                                  for t in manifest.targets])

    async def _truth(self, request: web.Request) -> web.Response:
        return web.json_response(await self._run(self.fleet.truth, request.match_info["id"]))

    async def _set_faults(self, request: web.Request) -> web.Response:
        faults = await _json(request)
        if not isinstance(faults, list):
            raise web.HTTPBadRequest(text=json.dumps({"error": "expected a list of faults"}),
                                     content_type="application/json")
        result = await self._run(self.fleet.set_faults, request.match_info["id"], faults)
        return web.json_response(result)

    async def _add_fault(self, request: web.Request) -> web.Response:
        fault = await _json(request)
        result = await self._run(self.fleet.add_fault, request.match_info["id"], fault)
        return web.json_response(result)

    async def _clear_faults(self, request: web.Request) -> web.Response:
        result = await self._run(self.fleet.clear_faults, request.match_info["id"],
                                 request.match_info.get("kind"))
        return web.json_response(result)

    async def _set_world(self, request: web.Request) -> web.Response:
        changes = await _json(request)
        if not isinstance(changes, dict):
            raise web.HTTPBadRequest(text=json.dumps({"error": "expected an object of world "
                                                               "fields"}),
                                     content_type="application/json")
        result = await self._run(self.fleet.set_world, request.match_info["id"], changes)
        return web.json_response(result)

    async def _reboot(self, request: web.Request) -> web.Response:
        await self._run(self.fleet.reboot, request.match_info["id"])
        return web.json_response({"rebooted": request.match_info["id"]})

    async def _manifest(self, request: web.Request) -> web.Response:
        return web.json_response(self.fleet.manifest().model_dump(mode="json",
                                                                  exclude_none=True))

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(await self._run(self.fleet.stats))


async def _json(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text=json.dumps({"error": f"body is not JSON: {exc}"}),
                                 content_type="application/json") from exc


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except FleetError as exc:
        status = 404 if isinstance(exc, NoSuchCamera) else 400
        return web.json_response({"error": str(exc)}, status=status)
    return response
