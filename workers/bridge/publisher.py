"""Publishing Zeebe messages for the bridge, behind a small protocol so the app can be unit-tested.

``ZeebePublisher`` maps Zeebe's answers, by meaning, onto what the bridge answers the provider:

* accepted                       -> ``PublishResult(duplicate=False)``  (202 "published")
* ``MessageAlreadyExistsError``  -> ``PublishResult(duplicate=True)``   (202 "duplicate"): Zeebe already
  holds a message with this ``message_id`` (= the provider's event id), i.e. a redelivery;
* back-pressure (RESOURCE_EXHAUSTED) -> ``PublisherBusy`` (429 + Retry-After);
* unreachable or transient: UNAVAILABLE, CANCELLED, DEADLINE_EXCEEDED, INTERNAL, UNKNOWN, ABORTED, our own
  timeout, a closed channel, and UNAUTHENTICATED / PERMISSION_DENIED (our credentials: fixable by an
  operator, so the delivery must not be lost) -> ``PublisherUnavailable`` (503 + Retry-After);
* permanent: INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE, NOT_FOUND, UNIMPLEMENTED — the same
  delivery can never succeed -> ``PublishRejected`` (422: the provider should stop retrying).

Every ``str()`` names the kind of failure and the gRPC code only, never the gateway's free text.

Zeebe only deduplicates while the first message is still alive (its TTL), so the TTL is also the window
in which a redelivery is recognised.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import NoReturn, Protocol, runtime_checkable

import grpc
import structlog
from pyzeebe import ZeebeClient
from pyzeebe.errors import MessageAlreadyExistsError, PyZeebeError, ZeebeError

__all__ = [
    "PERMANENT_CODES",
    "MessagePublisher",
    "PublishRejected",
    "PublishResult",
    "PublisherBusy",
    "PublisherUnavailable",
    "ZeebePublisher",
]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PublishResult:
    duplicate: bool = False
    # Zeebe's message key; None for a duplicate (Zeebe does not tell us the first one's key).
    key: int | None = None


class PublisherUnavailable(Exception):
    """Zeebe could not take the message now; the caller should ask the sender to retry later.

    ``str()`` is operator-readable and names the kind of failure only.
    """


class PublisherBusy(PublisherUnavailable):
    """Zeebe pushes back (RESOURCE_EXHAUSTED): retry later, the engine is healthy but loaded."""


class PublishRejected(Exception):
    """Zeebe refused this message for good (e.g. INVALID_ARGUMENT); retrying the delivery cannot help.

    ``code`` is the gRPC status name; ``str()`` names it and nothing from the request.
    """

    def __init__(self, code: str) -> None:
        super().__init__(f"Zeebe rejected the message ({code})")
        self.code = code


PERMANENT_CODES = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)


@runtime_checkable
class MessagePublisher(Protocol):
    async def publish(
        self, name: str, correlation_key: str, variables: dict[str, str], ttl_ms: int, message_id: str
    ) -> PublishResult: ...

    async def ready(self) -> bool: ...


class ZeebePublisher:
    """``MessagePublisher`` on a pyzeebe ``ZeebeClient``.

    Build the client with ``max_connection_retries=-1``: pyzeebe closes the channel for good after that
    many gateway failures otherwise, and a bridge must survive an engine restart.
    """

    def __init__(self, client: ZeebeClient, request_timeout_s: float = 10.0, ready_timeout_s: float = 2.0) -> None:
        self._client = client
        self._request_timeout_s = request_timeout_s
        self._ready_timeout_s = ready_timeout_s

    async def publish(
        self, name: str, correlation_key: str, variables: dict[str, str], ttl_ms: int, message_id: str
    ) -> PublishResult:
        try:
            response = await asyncio.wait_for(
                self._client.publish_message(
                    name=name,
                    correlation_key=correlation_key,
                    variables=variables,
                    time_to_live_in_milliseconds=ttl_ms,
                    message_id=message_id,
                ),
                timeout=self._request_timeout_s,
            )
        except MessageAlreadyExistsError:
            return PublishResult(duplicate=True)
        except (TimeoutError, asyncio.TimeoutError):
            raise PublisherUnavailable(f"Zeebe did not answer within {self._request_timeout_s:g}s") from None
        except ZeebeError as exc:
            # pyzeebe wraps the gRPC error; its class alone does not tell INVALID_ARGUMENT from UNKNOWN.
            _raise_for_code(_status(getattr(exc, "grpc_error", None)), type(exc).__name__)
        except grpc.RpcError as exc:  # includes grpc.aio.AioRpcError not wrapped by pyzeebe
            _raise_for_code(_status(exc), "gRPC error")
        except PyZeebeError as exc:
            raise PublisherUnavailable(f"pyzeebe error ({type(exc).__name__})") from None
        except (ConnectionError, OSError) as exc:
            raise PublisherUnavailable(f"connection to Zeebe failed ({type(exc).__name__})") from None
        except RuntimeError as exc:
            # grpc.aio raises UsageError (a RuntimeError) once the channel has been closed.
            raise PublisherUnavailable(f"Zeebe channel unusable ({type(exc).__name__})") from None
        return PublishResult(duplicate=False, key=getattr(response, "key", None))

    async def ready(self) -> bool:
        """True if the gateway answers a topology request (with at least one broker) in time."""
        try:
            topology = await asyncio.wait_for(self._client.topology(), timeout=self._ready_timeout_s)
        except Exception as exc:  # readiness is a yes/no question; the kind is logged, not raised
            log.info("bridge.zeebe_not_ready", reason=type(exc).__name__)
            return False
        brokers = getattr(topology, "brokers", None)
        return bool(brokers)


def _status(exc: BaseException | None) -> grpc.StatusCode | None:
    code = getattr(exc, "code", None)
    try:
        value = code() if callable(code) else code
    except Exception:
        return None
    return value if isinstance(value, grpc.StatusCode) else None


def _raise_for_code(code: grpc.StatusCode | None, kind: str) -> NoReturn:
    name = code.name if code is not None else "no status"
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        raise PublisherBusy(f"Zeebe is applying back-pressure ({kind}, {name})") from None
    if code in PERMANENT_CODES:
        raise PublishRejected(name) from None
    raise PublisherUnavailable(f"Zeebe refused the message for now ({kind}, {name})") from None
