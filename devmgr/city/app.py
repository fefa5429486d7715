"""The Celery application of the city: broker, delivery settings, the camera task, beat.

A collector is a Celery worker of this app on one queue (``devmgr collector --queue X``):

* ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is acknowledged once its
  camera is recorded; a collector killed mid-task (SIGKILL, power, link) never acknowledged
  it, so the broker delivers it again, to another collector of the queue or to the restarted
  one. Recording is idempotent (:func:`devmgr.city.work.run_job`): at least once is enough.
* ``worker_prefetch_multiplier=1``: a collector holds no more cameras than it works on, so
  a dead one strands few and a slow district does not hoard the queue.
* a registry that cannot be reached is retried with backoff, a bounded number of times
  (:data:`RETRIES`, about two minutes in all); a camera's own faults are never a task
  failure (the library classifies them per camera and they are recorded as results).
* no result backend: results go to the registry, where the coordinator follows them.

The broker is ``$CAMFLEET_BROKER`` (default RabbitMQ on this machine); the collector's
registry ``$CAMFLEET_REGISTRY``; its own targets file, for inline credentials,
``$CAMFLEET_COLLECTOR_TARGETS``. ``devmgr collector`` sets them from its options.

Periodic audits (Celery beat): ``$CAMFLEET_BEAT_TARGETS`` names the targets file and
``$CAMFLEET_BEAT_EVERY_S`` the period; beat sends :func:`scheduled_audit` to the
``coordinator`` queue, and a collector on that queue runs the coordinator.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from celery import Celery

from camfleet.printable import device_logger

__all__ = ["BROKER_ENV", "DEFAULT_BROKER", "RETRIES", "app", "broker_url"]

BROKER_ENV = "CAMFLEET_BROKER"
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
#: Retries of a camera whose registry is unreachable: backoff 2, 4, ... 64 s (about 2 min).
RETRIES = 6
COORDINATOR_QUEUE = "coordinator"
log = device_logger(__name__)


def broker_url() -> str:
    return os.environ.get(BROKER_ENV) or DEFAULT_BROKER


app = Celery("camfleet", broker=broker_url(), set_as_current=False)
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    task_default_queue="default",
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
    # Redis (if chosen): a task unacknowledged for this long is delivered again.
    broker_transport_options={"visibility_timeout": 3600},
)

_local = threading.local()


def _registry() -> Any:
    """This thread's registry (one instance per thread; opened on first use, after fork)."""
    from devmgr.registry import Registry  # noqa: PLC0415

    registry = getattr(_local, "registry", None)
    if registry is None:
        registry = Registry.open(os.environ.get("CAMFLEET_REGISTRY") or None)
        _local.registry = registry
    return registry


def _secrets() -> dict[str, Any]:
    path = os.environ.get("CAMFLEET_COLLECTOR_TARGETS")
    if not path:
        return {}
    cached = getattr(_local, "secrets", None)
    if cached is None:
        from camfleet.targets import load_targets  # noqa: PLC0415

        cached = load_targets(path).by_id()
        _local.secrets = cached
    return dict(cached)


def camera(self: Any, job: dict[str, Any]) -> str:
    """One camera's inventory or audit into the coordinator's sweep (see the module)."""
    from camfleet.targets import TargetsError  # noqa: PLC0415
    from devmgr.city.work import CameraJob, run_job  # noqa: PLC0415
    from devmgr.registry import RegistryError  # noqa: PLC0415

    parsed = CameraJob.model_validate(job)
    try:
        outcome = asyncio.run(run_job(parsed, _registry(), secrets=_secrets()))
    except TargetsError as exc:  # this collector cannot log in: retrying will not help
        log.error("camera %s of sweep %s: %s", parsed.camera, parsed.sweep_id, exc)
        return f"failed: {exc}"
    except RegistryError as exc:
        # Unreachable, or gone mid-write: nothing half-recorded (one transaction per
        # write); the camera is done again from the start when the registry answers.
        registry = getattr(_local, "registry", None)
        if registry is not None:
            registry.close()
            _local.registry = None
        log.warning("camera %s of sweep %s: %s; retrying", parsed.camera, parsed.sweep_id,
                    exc)
        raise self.retry(exc=exc, countdown=min(2 ** (self.request.retries + 1), 64)) from exc
    log.info("camera %s of sweep %s: %s", parsed.camera, parsed.sweep_id, outcome)
    return outcome


def scheduled_audit(targets: str, move: bool = True) -> int:
    """A periodic city audit (Celery beat): the coordinator, run by a collector of the
    ``coordinator`` queue; returns the audit sweep id."""
    from camfleet.targets import load_targets  # noqa: PLC0415
    from devmgr.city.coordinator import Coordinator  # noqa: PLC0415

    registry = _registry()
    run = Coordinator(app, registry).audit(load_targets(targets), move=move,
                                           parameters={"targets": targets, "beat": True})
    return int(run.sweep_id)


# Registered by name (what messages carry); plain functions above, for the type checker.
camera_task = app.task(camera, name="camfleet.camera", bind=True, max_retries=RETRIES,
                       acks_late=True, reject_on_worker_lost=True)
scheduled_audit_task = app.task(scheduled_audit, name="camfleet.scheduled_audit",
                                acks_late=True, ignore_result=True)


def _beat_schedule() -> dict[str, Any]:
    targets = os.environ.get("CAMFLEET_BEAT_TARGETS")
    if not targets:
        return {}
    every = float(os.environ.get("CAMFLEET_BEAT_EVERY_S", "86400"))
    return {"city-audit": {"task": "camfleet.scheduled_audit", "schedule": every,
                           "args": (targets,),
                           "options": {"queue": COORDINATOR_QUEUE, "expires": every}}}


app.conf.beat_schedule = _beat_schedule()
