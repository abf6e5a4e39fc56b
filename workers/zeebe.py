"""The gRPC channel to the Zeebe gateway, chosen from the settings (pyzeebe's channel helpers).

* no credentials           -> insecure channel (local engine);
* ZEEBE_CLIENT_ID + server -> OAuth2 client-credentials channel (self-managed with Identity);
* CAMUNDA_CLUSTER_ID       -> Camunda SaaS channel.

For OAuth channels the token plugin is remembered per channel, so the job runtime can force one token
refresh when the gateway answers UNAUTHENTICATED / PERMISSION_DENIED (``token_refresher``).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from pyzeebe import ZeebeClient
from pyzeebe.channel import (
    create_camunda_cloud_channel,
    create_insecure_channel,
    create_oauth2_client_credentials_channel,
)

from workers.config import ZeebeSettings

# Keepalive so a dead gateway is noticed, and reconnect quickly after an engine restart.
CHANNEL_OPTIONS = (
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.initial_reconnect_backoff_ms", 500),
    ("grpc.max_reconnect_backoff_ms", 5_000),
)


# channel -> the OAuth metadata plugin that signs its calls
_TOKEN_PLUGINS: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


def token_refresher(channel: Any) -> Callable[[], Awaitable[None]] | None:
    """A coroutine function that fetches a new token for ``channel`` now (None: no OAuth on it)."""
    plugin = _TOKEN_PLUGINS.get(channel) if channel is not None else None
    if plugin is None:
        return None

    async def refresh() -> None:
        await asyncio.to_thread(plugin.retrieve_token)

    return refresh


def create_channel(settings: ZeebeSettings) -> grpc.aio.Channel:
    with _capture_plugins() as plugins:
        channel = _create_channel(settings)
    if plugins:
        _TOKEN_PLUGINS[channel] = plugins[-1]
    return channel


def _capture_plugins():
    """Record the OAuth plugins pyzeebe's channel helpers create (they keep them out of reach)."""
    from pyzeebe.channel import oauth_channel

    @contextlib.contextmanager
    def capture():
        created: list[Any] = []
        original = oauth_channel.Oauth2ClientCredentialsMetadataPlugin

        class Recording(original):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                created.append(self)

        oauth_channel.Oauth2ClientCredentialsMetadataPlugin = Recording
        try:
            yield created
        finally:
            oauth_channel.Oauth2ClientCredentialsMetadataPlugin = original

    return capture()


def _create_channel(settings: ZeebeSettings) -> grpc.aio.Channel:
    secret = settings.zeebe_client_secret.get_secret_value() if settings.zeebe_client_secret else None
    if settings.mode == "saas":
        return create_camunda_cloud_channel(
            client_id=settings.zeebe_client_id,
            client_secret=secret,
            cluster_id=settings.camunda_cluster_id,
            region=settings.camunda_cluster_region or "bru-2",
            audience=settings.zeebe_token_audience or "zeebe.camunda.io",
            channel_options=CHANNEL_OPTIONS,
        )
    if settings.mode == "oauth":
        return create_oauth2_client_credentials_channel(
            grpc_address=settings.zeebe_address,
            client_id=settings.zeebe_client_id,
            client_secret=secret,
            authorization_server=settings.zeebe_authorization_server_url,
            audience=settings.zeebe_token_audience or "zeebe-api",
            channel_options=CHANNEL_OPTIONS,
        )
    return create_insecure_channel(grpc_address=settings.zeebe_address, channel_options=CHANNEL_OPTIONS)


def deployed_processes(response: Any) -> list[Any]:
    """The process definitions of a deploy_resource response (pyzeebe lists them among 'deployments')."""
    return [d for d in response.deployments if hasattr(d, "bpmn_process_id")]


def create_client(settings: ZeebeSettings) -> ZeebeClient:
    return ZeebeClient(create_channel(settings), max_connection_retries=-1)


async def retry_incident(channel: grpc.aio.Channel, job_key: int, incident_key: int, retries: int = 3) -> None:
    """What an operator does in Operate after fixing the cause: give the job retries, resolve the incident.

    pyzeebe's client has no call for these, so we use the gateway's gRPC API directly.
    """
    from pyzeebe.proto.gateway_pb2 import ResolveIncidentRequest, UpdateJobRetriesRequest
    from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

    stub = GatewayStub(channel)
    await stub.UpdateJobRetries(UpdateJobRetriesRequest(jobKey=job_key, retries=retries), timeout=10)
    await stub.ResolveIncident(ResolveIncidentRequest(incidentKey=incident_key), timeout=10)
