"""The Celery application of the city: broker, delivery settings, the cameras task, beat.

A collector is a Celery worker of this app on one queue (``devmgr collector --queue X``).
A task carries a batch of one district's cameras, worked at once in one event loop:

* ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is acknowledged once its
  cameras are recorded (or spooled); a collector killed mid-task (SIGKILL, power, link) never
  acknowledged it, so the broker delivers the whole batch again, to another collector of the
  queue or to the restarted one. Recording is idempotent
  (:func:`devmgr.city.work.run_job`): at least once is enough.
* ``worker_prefetch_multiplier=1``: a collector holds no more batches than it works on, so
  a dead one strands few and a slow district does not hoard the queue.
* a registry lost after the camera was polled: its result is kept in the collector's spool
  (``$CAMFLEET_SPOOL``, a SQLite file, :mod:`devmgr.city.spool`) before the message is
  acknowledged, and a shipper thread ships it when the registry answers again (the camera
  is not polled again);
* a registry that cannot be read before the camera is polled (its sweep, filings, baselines):
  the task stays with the broker, retried with backoff (2, 4, ... capped at
  ``$CAMFLEET_RETRY_MAX_S``, default 64 s) until the registry answers or the coordinator's
  deadline expires the message; likewise a result the spool has no room for. A camera's own
  faults are never a task failure (the library classifies them per camera and they are
  recorded as results).
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
from celery.signals import worker_ready, worker_shutdown

from camfleet.printable import device_logger

__all__ = ["BROKER_ENV", "DEFAULT_BROKER", "SPOOL_ENV", "app", "broker_url"]

BROKER_ENV = "CAMFLEET_BROKER"
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
#: The collector's spool file (``devmgr collector --spool DIR`` sets it); its limits in
#: ``$CAMFLEET_SPOOL_MAX_MB`` and ``$CAMFLEET_SPOOL_MAX_AGE_H``.
SPOOL_ENV = "CAMFLEET_SPOOL"
COORDINATOR_QUEUE = "coordinator"
log = device_logger(__name__)


def broker_url() -> str:
    return os.environ.get(BROKER_ENV) or DEFAULT_BROKER


app = Celery("camfleet", broker=broker_url(), set_as_current=False)
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    # After a lost broker connection Celery would cut the prefetch to the free slots and win
    # it back one finished task at a time; the tasks running at the cut cannot be acked on
    # the new connection (RabbitMQ delivers them again), so it stayed cut: collectors took
    # in few cameras for minutes after a 10 s outage (``bench/city.py``).
    worker_enable_prefetch_count_reduction=False,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    task_default_queue="default",
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
    # Redis (if chosen): a task unacknowledged for this long is delivered again, also to
    # another collector while the first still works on it ($CAMFLEET_VISIBILITY_TIMEOUT_S).
    broker_transport_options={"visibility_timeout": float(
        os.environ.get("CAMFLEET_VISIBILITY_TIMEOUT_S") or 3600)},
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


def cameras(self: Any, jobs: list[dict[str, Any]]) -> str:
    """A batch of one district's cameras (inventories or audits) into the coordinator's
    sweep, at once in one event loop (see the module). The cameras whose registry could not
    be read (not polled) or whose result the spool has no room for are retried, as a batch
    of their own; the others are done."""
    from camfleet.targets import TargetsError  # noqa: PLC0415
    from devmgr.city.spool import SpoolFull  # noqa: PLC0415
    from devmgr.city.work import CameraJob, run_jobs  # noqa: PLC0415
    from devmgr.registry import RegistryError  # noqa: PLC0415

    parsed = [CameraJob.model_validate(job) for job in jobs]
    outcomes: list[Any]
    try:
        registry = _registry()
    except RegistryError as exc:  # cannot even be opened: none of them is polled
        outcomes = [exc] * len(parsed)
    else:
        outcomes = asyncio.run(run_jobs(parsed, registry, secrets=_secrets(),
                                        spool=_spool()))
    again: list[dict[str, Any]] = []
    errors: list[Exception] = []
    for job, outcome in zip(parsed, outcomes, strict=True):
        name = f"camera {job.camera} of sweep {job.sweep_id}"
        if isinstance(outcome, RegistryError | SpoolFull):
            # Unreachable before the camera was polled (nothing computed, nothing to keep),
            # or the spool is full: the job stays with the broker, until its deadline.
            (log.error if isinstance(outcome, SpoolFull) else log.warning)(
                "%s: %s; retrying", name, outcome)
            again.append(job.model_dump(mode="json"))
            errors.append(outcome)
        elif isinstance(outcome, TargetsError):  # this collector cannot log in: final
            log.error("%s: %s", name, outcome)
        elif isinstance(outcome, Exception):
            log.error("%s: failed: %s", name, outcome, exc_info=outcome)
        else:
            log.info("%s: %s", name, outcome)
    if again:
        if getattr(_local, "registry", None) is not None:  # opened again, fresh, by the retry
            _local.registry.close()
            _local.registry = None
        cap = float(os.environ.get("CAMFLEET_RETRY_MAX_S") or 64)
        raise self.retry(args=[again], exc=errors[0], max_retries=None,
                         countdown=min(2 ** (self.request.retries + 1), cap))
    return ", ".join(str(o) if isinstance(o, str) else f"failed: {o}" for o in outcomes)


_spools: dict[int, Any] = {}
_spools_lock = threading.Lock()


def _spool() -> Any:
    """This process's spool (:class:`devmgr.city.spool.Spool`; None without
    ``$CAMFLEET_SPOOL``), opened on first use, after fork."""
    path = os.environ.get(SPOOL_ENV)
    if not path:
        return None
    from devmgr.city.spool import DEFAULT_MAX_AGE_S, DEFAULT_MAX_BYTES, Spool  # noqa: PLC0415

    with _spools_lock:
        spool = _spools.get(os.getpid())
        if spool is None:
            max_mb = os.environ.get("CAMFLEET_SPOOL_MAX_MB")
            max_h = os.environ.get("CAMFLEET_SPOOL_MAX_AGE_H")
            spool = _spools[os.getpid()] = Spool(
                path, max_bytes=int(float(max_mb) * 2**20) if max_mb else DEFAULT_MAX_BYTES,
                max_age_s=float(max_h) * 3600 if max_h else DEFAULT_MAX_AGE_S)
        return spool


_stop_shipping = threading.Event()


def _start_shipper(**_: Any) -> None:
    """The collector ships its spool (what a previous run left too) while it runs."""
    spool = _spool()
    if spool is None:
        return
    from devmgr.city.spool import shipper  # noqa: PLC0415
    from devmgr.registry import Registry  # noqa: PLC0415

    every = float(os.environ.get("CAMFLEET_SPOOL_SHIP_EVERY_S") or 5)
    threading.Thread(target=shipper, name="spool-shipper", daemon=True, args=(
        spool, lambda: Registry.open(os.environ.get("CAMFLEET_REGISTRY") or None),
        _stop_shipping, every)).start()


def _stop_shipper(**_: Any) -> None:
    _stop_shipping.set()


worker_ready.connect(_start_shipper, weak=False)
worker_shutdown.connect(_stop_shipper, weak=False)


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
cameras_task = app.task(cameras, name="camfleet.cameras", bind=True, max_retries=None,
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
