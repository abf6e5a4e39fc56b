"""Publishing Zeebe messages for the bridge, behind a small protocol so the app can be unit-tested.

``ZeebePublisher`` maps pyzeebe's outcomes onto what the bridge answers the provider:

* accepted                       -> ``PublishResult(duplicate=False)``  (202 "published")
* ``MessageAlreadyExistsError``  -> ``PublishResult(duplicate=True)``   (202 "duplicate"): Zeebe already
  holds a message with this ``message_id`` (= the provider's event id), i.e. a redelivery;
* gateway unavailable, back-pressure, internal error, deadline, any other gRPC status, our own timeout,
  a closed channel -> ``PublisherUnavailable`` (503 + Retry-After: the provider retries, nothing is lost).

Zeebe only deduplicates while the first message is still alive (its TTL), so the TTL is also the window
in which a redelivery is recognised.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import grpc
import structlog
from pyzeebe import ZeebeClient
from pyzeebe.errors import MessageAlreadyExistsError, PyZeebeError, ZeebeError

__all__ = ["MessagePublisher", "PublishResult", "PublisherUnavailable", "ZeebePublisher"]

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
            # Back-pressure, gateway unavailable/cancelled, internal, deadline exceeded, unknown status.
            raise PublisherUnavailable(f"Zeebe refused the message for now ({_describe(exc)})") from None
        except grpc.RpcError as exc:  # includes grpc.aio.AioRpcError not wrapped by pyzeebe
            raise PublisherUnavailable(f"gRPC error talking to Zeebe ({_grpc_code(exc)})") from None
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


def _grpc_code(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    try:
        value = code() if callable(code) else code
    except Exception:
        value = None
    return getattr(value, "name", None) or type(exc).__name__


def _describe(exc: ZeebeError) -> str:
    grpc_error = getattr(exc, "grpc_error", None)
    code = _grpc_code(grpc_error) if grpc_error is not None else None
    return f"{type(exc).__name__}, {code}" if code else type(exc).__name__
