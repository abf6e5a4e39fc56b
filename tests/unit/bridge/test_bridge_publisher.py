"""``ZeebePublisher``: pyzeebe outcomes -> published / duplicate / ``PublisherUnavailable``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from pyzeebe import ZeebeClient, create_insecure_channel
from pyzeebe.errors import (
    MessageAlreadyExistsError,
    UnknownGrpcStatusCodeError,
    ZeebeBackPressureError,
    ZeebeDeadlineExceeded,
    ZeebeGatewayUnavailableError,
    ZeebeInternalError,
)

from workers.bridge.publisher import (
    MessagePublisher,
    PublisherBusy,
    PublisherUnavailable,
    PublishRejected,
    PublishResult,
    ZeebePublisher,
)


def rpc_error(code: grpc.StatusCode, details: str = "gateway says no") -> grpc.aio.AioRpcError:
    """What grpc.aio raises, as pyzeebe receives it."""
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=details)


def already_exists() -> MessageAlreadyExistsError:
    # pyzeebe: ``raise MessageAlreadyExistsError() from grpc_error`` on ALREADY_EXISTS.
    error = MessageAlreadyExistsError()
    error.__cause__ = rpc_error(grpc.StatusCode.ALREADY_EXISTS)
    return error


@dataclass
class StubZeebeClient:
    """Stands in for ``pyzeebe.ZeebeClient``: records calls, raises or answers as told."""

    raises: BaseException | None = None
    delay_s: float = 0.0
    topology_result: Any = None
    topology_raises: BaseException | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    async def publish_message(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.raises is not None:
            raise self.raises
        return type("PublishMessageResponse", (), {"key": 2251799813685300, "tenant_id": "<default>"})()

    async def topology(self) -> Any:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.topology_raises is not None:
            raise self.topology_raises
        return self.topology_result


def publisher_for(stub: StubZeebeClient, **kwargs: Any) -> ZeebePublisher:
    return ZeebePublisher(stub, **kwargs)  # type: ignore[arg-type]


async def publish(publisher: ZeebePublisher) -> PublishResult:
    return await publisher.publish(
        name="contract-ready",
        correlation_key="doc_42",
        variables={"contractStatus": "ready", "contractEventId": "evt_1"},
        ttl_ms=600_000,
        message_id="evt_1",
    )


def test_zeebe_publisher_is_a_message_publisher():
    assert isinstance(publisher_for(StubZeebeClient()), MessagePublisher)


async def test_accepted_message_is_published_with_all_parameters():
    stub = StubZeebeClient()

    result = await publish(publisher_for(stub))

    assert result == PublishResult(duplicate=False, key=2251799813685300)
    assert stub.calls == [
        {
            "name": "contract-ready",
            "correlation_key": "doc_42",
            "variables": {"contractStatus": "ready", "contractEventId": "evt_1"},
            "time_to_live_in_milliseconds": 600_000,
            "message_id": "evt_1",
        }
    ]


async def test_message_already_exists_is_a_duplicate_not_an_error():
    result = await publish(publisher_for(StubZeebeClient(raises=already_exists())))

    assert result.duplicate is True


@pytest.mark.parametrize(
    "error",
    [
        ZeebeGatewayUnavailableError(rpc_error(grpc.StatusCode.UNAVAILABLE)),
        ZeebeGatewayUnavailableError(rpc_error(grpc.StatusCode.CANCELLED)),
        ZeebeBackPressureError(rpc_error(grpc.StatusCode.RESOURCE_EXHAUSTED)),
        ZeebeInternalError(rpc_error(grpc.StatusCode.INTERNAL)),
        ZeebeDeadlineExceeded(rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED)),
        UnknownGrpcStatusCodeError(rpc_error(grpc.StatusCode.UNKNOWN)),
        rpc_error(grpc.StatusCode.UNAVAILABLE),  # a raw grpc error, not wrapped by pyzeebe
        ConnectionRefusedError(),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_gateway_trouble_is_publisher_unavailable(error: BaseException):
    with pytest.raises(PublisherUnavailable) as info:
        await publish(publisher_for(StubZeebeClient(raises=error)))

    # Operator-readable, and free of the gateway's free-text details.
    assert "gateway says no" not in str(info.value)


async def test_back_pressure_names_the_status():
    error = ZeebeBackPressureError(rpc_error(grpc.StatusCode.RESOURCE_EXHAUSTED))

    with pytest.raises(PublisherUnavailable, match="ZeebeBackPressureError, RESOURCE_EXHAUSTED"):
        await publish(publisher_for(StubZeebeClient(raises=error)))


async def test_slow_gateway_times_out_as_unavailable():
    stub = StubZeebeClient(delay_s=5.0)
    loop = asyncio.get_running_loop()
    started = loop.time()

    with pytest.raises(PublisherUnavailable, match="did not answer"):
        await publish(publisher_for(stub, request_timeout_s=0.05))

    assert loop.time() - started < 1.0


async def test_ready_when_topology_lists_brokers():
    stub = StubZeebeClient(topology_result=type("Topology", (), {"brokers": [object()]})())
    assert await publisher_for(stub).ready() is True


async def test_not_ready_without_brokers():
    stub = StubZeebeClient(topology_result=type("Topology", (), {"brokers": []})())
    assert await publisher_for(stub).ready() is False


async def test_not_ready_when_gateway_unavailable():
    stub = StubZeebeClient(topology_raises=ZeebeGatewayUnavailableError(rpc_error(grpc.StatusCode.UNAVAILABLE)))
    assert await publisher_for(stub).ready() is False


async def test_not_ready_when_topology_hangs():
    stub = StubZeebeClient(delay_s=5.0)
    loop = asyncio.get_running_loop()
    started = loop.time()

    assert await publisher_for(stub, ready_timeout_s=0.05).ready() is False
    assert loop.time() - started < 1.0


# -- through pyzeebe's own error mapping -----------------------------------------------------------------


class FakeGatewayStub:
    """Replaces the generated gRPC stub inside pyzeebe's adapter, so pyzeebe maps the status codes itself."""

    def __init__(self, code: grpc.StatusCode) -> None:
        self.code = code
        self.calls = 0

    async def PublishMessage(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        self.calls += 1
        raise rpc_error(self.code)

    async def Topology(self, request: Any) -> Any:  # noqa: N802
        raise rpc_error(self.code)


@pytest.mark.parametrize(
    ("code", "duplicate"),
    [
        (grpc.StatusCode.ALREADY_EXISTS, True),
        (grpc.StatusCode.UNAVAILABLE, None),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, None),
        (grpc.StatusCode.INTERNAL, None),
        (grpc.StatusCode.DEADLINE_EXCEEDED, None),
        (grpc.StatusCode.CANCELLED, None),
    ],
    ids=lambda v: getattr(v, "name", str(v)),
)
async def test_real_zeebe_client_status_codes(code: grpc.StatusCode, duplicate: bool | None):
    channel = create_insecure_channel(grpc_address="127.0.0.1:9")
    try:
        client = ZeebeClient(channel, max_connection_retries=-1)
        stub = FakeGatewayStub(code)
        client.zeebe_adapter._gateway_stub = stub  # pyzeebe internals: the one seam below the client
        publisher = ZeebePublisher(client, request_timeout_s=2.0)
        if duplicate:
            assert (await publish(publisher)).duplicate is True
        else:
            # Repeated gateway failures must not make pyzeebe close the channel for good (retries -1).
            for _ in range(12):
                with pytest.raises(PublisherUnavailable):
                    await publish(publisher)
            assert client.zeebe_adapter.connected
            assert await publisher.ready() is False
        assert stub.calls >= 1
    finally:
        await channel.close()


# -- answers mapped by meaning -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        ZeebeBackPressureError(rpc_error(grpc.StatusCode.RESOURCE_EXHAUSTED)),
        rpc_error(grpc.StatusCode.RESOURCE_EXHAUSTED),
    ],
    ids=["pyzeebe", "raw"],
)
async def test_back_pressure_is_publisher_busy(error: BaseException):
    with pytest.raises(PublisherBusy):
        await publish(publisher_for(StubZeebeClient(raises=error)))


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.UNIMPLEMENTED,
    ],
    ids=lambda c: c.name,
)
async def test_permanent_errors_are_rejected_with_the_code_only(code: grpc.StatusCode):
    error = UnknownGrpcStatusCodeError(rpc_error(code, details="variables: PERSONAL-DATA-IN-DETAILS"))

    with pytest.raises(PublishRejected) as info:
        await publish(publisher_for(StubZeebeClient(raises=error)))

    assert info.value.code == code.name
    assert str(info.value) == f"Zeebe rejected the message ({code.name})"
    assert not isinstance(info.value, PublisherUnavailable)


@pytest.mark.parametrize(
    "code",
    [grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.ABORTED,
     grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS],
    ids=lambda c: c.name,
)  # fmt: skip
async def test_fixable_or_transient_errors_stay_retryable(code: grpc.StatusCode):
    with pytest.raises(PublisherUnavailable) as info:
        await publish(publisher_for(StubZeebeClient(raises=UnknownGrpcStatusCodeError(rpc_error(code)))))

    assert not isinstance(info.value, PublisherBusy)
    assert code.name in str(info.value)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (grpc.StatusCode.RESOURCE_EXHAUSTED, PublisherBusy),
        (grpc.StatusCode.INVALID_ARGUMENT, PublishRejected),
        (grpc.StatusCode.UNAVAILABLE, PublisherUnavailable),
    ],
    ids=lambda v: getattr(v, "name", getattr(v, "__name__", str(v))),
)
async def test_mapping_through_pyzeebes_own_error_handling(code: grpc.StatusCode, expected: type):
    channel = create_insecure_channel(grpc_address="127.0.0.1:9")
    try:
        client = ZeebeClient(channel, max_connection_retries=-1)
        client.zeebe_adapter._gateway_stub = FakeGatewayStub(code)
        with pytest.raises(expected) as info:
            await publish(ZeebePublisher(client, request_timeout_s=2.0))
        assert type(info.value) is expected
    finally:
        await channel.close()
