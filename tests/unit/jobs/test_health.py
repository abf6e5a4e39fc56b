from __future__ import annotations

import asyncio

import httpx

from workers.jobs.health import create_app
from tests.unit.jobs.fakes import FakeStub, Gate, make_worker, spec, until


class Probe:
    def __init__(self) -> None:
        self.live = (True, "ok")
        self.readiness = (False, "no answer from the gateway within 60s")

    def alive(self):
        return self.live

    def ready(self):
        return self.readiness


async def test_healthz_and_readyz_answer_apart() -> None:
    probe = Probe()
    transport = httpx.ASGITransport(app=create_app(probe))
    async with httpx.AsyncClient(transport=transport, base_url="http://w") as client:
        assert (await client.get("/healthz")).status_code == 200
        r = await client.get("/readyz")
        assert r.status_code == 503 and r.json()["detail"] == "no answer from the gateway within 60s"
        probe.live, probe.readiness = (False, "poll-x ended"), (True, "ok")
        assert (await client.get("/healthz")).json() == {"status": "failing", "detail": "poll-x ended"}
        assert (await client.get("/readyz")).status_code == 200


async def test_metrics_has_the_job_gauges() -> None:
    from workers.tasks import metrics

    metrics.JOBS_IN_FLIGHT.labels("u.gauge").set(3)
    transport = httpx.ASGITransport(app=create_app(Probe()))
    async with httpx.AsyncClient(transport=transport, base_url="http://w") as client:
        body = (await client.get("/metrics")).text
    assert 'contract_jobs_in_flight{task_type="u.gauge"} 3.0' in body
    assert "contract_jobs_queued" in body


async def test_worker_serves_on_a_free_port_while_it_works() -> None:
    stub = FakeStub()
    worker = make_worker(stub, [spec("u.serve", Gate().handler)], metrics_port=0, metrics_host="127.0.0.1")
    work = asyncio.create_task(worker.work())
    await until(lambda: worker.health and worker.health[0].port, "health server bound")
    port = worker.health[0].port
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        await until(lambda: worker.ready()[0], "ready")
        assert (await client.get("/readyz")).status_code == 200
        assert (await client.get("/healthz")).status_code == 200
    await worker.stop(grace_s=0)
    await asyncio.wait_for(work, 30)
    assert worker.health[0].server.should_exit
