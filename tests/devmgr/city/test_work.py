"""Routing targets to district queues, and what a task message may carry (no secret)."""

from __future__ import annotations

import json

import pytest

from camfleet.targets import OnvifCredentials, SnmpCredentials, SnmpV3Credentials, Target
from devmgr.city.work import DEFAULT_QUEUE, CameraJob, parse_route, queue_of

ROUTES = [parse_route("10.1.0.0/16=hongshan"), parse_route("10.2.0.0/16=wuchang")]


@pytest.mark.parametrize(("target", "queue"), [
    (Target(id="a", address="10.1.3.4"), "hongshan"),
    (Target(id="b", address="10.2.0.9"), "wuchang"),
    (Target(id="c", address="10.1.3.4", district="jiangan"), "jiangan"),  # district first
    (Target(id="d", address="192.0.2.1"), DEFAULT_QUEUE),
    (Target(id="e", address="cam-e.example"), DEFAULT_QUEUE),  # a name: no CIDR holds it
])
def test_a_target_goes_to_its_district_else_its_route_else_the_default(
        target: Target, queue: str) -> None:
    assert queue_of(target, ROUTES) == queue


@pytest.mark.parametrize("text", ["10.1.0.0/16", "10.1.0.0/16=", "10.1.0.0/16=a b",
                                  "10.1.0.0/33=x", "nowhere=x"])
def test_a_bad_route_is_refused_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match="route"):
        parse_route(text)


def test_a_district_name_is_a_queue_name() -> None:
    with pytest.raises(ValueError, match="district"):
        Target(id="a", address="10.1.3.4", district="bad queue/name")


def test_inline_secrets_never_travel_in_a_task_message() -> None:
    target = Target(id="gate-1", address="10.1.3.4",
                    onvif=OnvifCredentials(username="admin", password="s3cret-onvif"),
                    snmp=SnmpCredentials(community="s3cret-community", v3=SnmpV3Credentials(
                        user="ops", auth_key="s3cret-auth", priv_key="s3cret-priv")))
    job = CameraJob.of("audit", 7, "gate-1", target, move=False)
    message = json.dumps(job.model_dump(mode="json"))
    assert "s3cret" not in message
    assert job.secrets_inline  # the collector must take them from its own targets file
    assert job.target.onvif.username == "admin"
    assert job.target.snmp is not None
    assert job.target.snmp.v3 is not None
    assert job.target.snmp.v3.user == "ops"


def test_references_to_environment_variables_travel_as_they_are() -> None:
    target = Target(id="gate-1", address="10.1.3.4",
                    onvif=OnvifCredentials(password_env="GATE_PASSWORD"))
    job = CameraJob.of("inventory", 7, "gate-1", target)
    assert not job.secrets_inline
    assert job.target.onvif.password_env == "GATE_PASSWORD"


def test_a_redelivered_job_does_nothing_and_a_job_of_an_ended_sweep_is_dropped() -> None:
    import asyncio  # noqa: PLC0415

    from camfleet.targets import TargetsError  # noqa: PLC0415
    from devmgr.city.work import run_job  # noqa: PLC0415
    from devmgr.compliance.model import CameraAudit  # noqa: PLC0415
    from devmgr.registry import Registry  # noqa: PLC0415

    unreachable = Target(id="gate-1", address="192.0.2.1",  # TEST-NET: never contacted
                         onvif=OnvifCredentials(password="inline"))
    job = CameraJob.of("audit", 0, "gate-1", unreachable)
    with Registry.open("sqlite://") as registry:
        sweep = registry.begin_sweep("audit")
        job = job.model_copy(update={"sweep_id": sweep})
        registry.record_audit_results(sweep, [
            ("gate-1", "compliant", CameraAudit(camera="gate-1", status="compliant"))])
        assert asyncio.run(run_job(job, registry, secrets={"gate-1": unreachable})) \
            == "done-already"
        other = job.model_copy(update={"camera": "gate-2"})
        with pytest.raises(TargetsError, match="does not name it"):  # no credentials here
            asyncio.run(run_job(other, registry, secrets={}))
        registry.finish_sweep(sweep, "aborted")
        assert asyncio.run(run_job(other, registry, secrets={})) == "sweep-over"


def test_the_coordinator_sends_each_district_its_cameras_in_batches() -> None:
    import contextlib  # noqa: PLC0415
    from typing import Any  # noqa: PLC0415

    from devmgr.city.coordinator import DEFAULT_BATCH, Coordinator  # noqa: PLC0415
    from devmgr.registry import Registry  # noqa: PLC0415

    sent: list[tuple[str, list[str]]] = []

    class App:
        def producer_or_acquire(self) -> contextlib.nullcontext[None]:
            return contextlib.nullcontext()

        def send_task(self, name: str, *, args: list[Any], queue: str, **_: Any) -> None:
            assert name == "camfleet.cameras"
            sent.append((queue, [job["camera"] for job in args[0]]))

    jobs = [(("east", "west")[n % 2], CameraJob.of("inventory", 1, f"c{n}",
                                                   Target(id=f"c{n}", address="192.0.2.1")))
            for n in range(7)]
    with Registry.open("sqlite://") as registry:
        Coordinator(App(), registry)._send(jobs, 2)
    assert sent == [("east", ["c0", "c2"]), ("east", ["c4", "c6"]),
                    ("west", ["c1", "c3"]), ("west", ["c5"])]
    assert DEFAULT_BATCH["inventory"] > 1
    with pytest.raises(ValueError, match="batch"):
        Coordinator(App(), registry, batch=0)


def test_a_batch_goes_on_past_one_camera_whose_registry_fails() -> None:
    import asyncio  # noqa: PLC0415
    import socket  # noqa: PLC0415

    from devmgr.city.work import run_jobs  # noqa: PLC0415
    from devmgr.registry import Registry, RegistryError  # noqa: PLC0415

    with socket.socket() as sock:  # a port nothing listens on: the camera does not answer
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    target = Target(id="gate-1", address="127.0.0.1", http_port=port)
    with Registry.open("sqlite://") as registry:
        sweep = registry.begin_sweep("inventory")
        ok = CameraJob.of("inventory", sweep, "gate-1", target, call_timeout_s=2)
        gone = ok.model_copy(update={"sweep_id": sweep + 1000})  # no such sweep
        outcomes = asyncio.run(run_jobs([gone, ok], registry))
        assert isinstance(outcomes[0], RegistryError)
        assert outcomes[1] == "recorded"
        assert registry.observed_targets(sweep) == {"gate-1"}
