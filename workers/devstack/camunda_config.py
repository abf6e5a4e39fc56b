"""The Camunda 8.6 ``application.yaml`` the local stack writes into its run dir.

Every string value (paths, URLs, addresses) is emitted as a JSON-style double-quoted string, which is
valid YAML: a directory holding `` #``, ``: ``, quotes or a leading ``-`` survives. A line break is
refused with a clear error instead (it would reach Spring and Zeebe as part of a path).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workers.devstack.stack import Ports


class ConfigError(ValueError):
    pass


def _yaml_str(value: object) -> str:
    """A YAML double-quoted scalar (JSON string syntax is valid YAML): ``#``, ``: `` and quotes survive."""
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ConfigError(f"a path in the Camunda configuration contains a line break ({text!r}): "
                         "choose a DEVSTACK_HOME without one")  # fmt: skip
    return json.dumps(text)


def camunda_yaml(profile: str, p: "Ports", data: Path) -> str:
    """The ``application.yaml`` for ``bin/broker`` / ``bin/camunda``: every string double-quoted."""
    lines = [
        "server:",
        f"  port: {p.rest}",
        "  address: 127.0.0.1",
        "management:",
        "  server:",
        f"    port: {p.management}",
        "    address: 127.0.0.1",
        "zeebe:",
        "  broker:",
        "    data:",
        f"      directory: {_yaml_str(data)}",
        "    network:",
        "      host: 127.0.0.1",
        "      commandApi:",
        f"        port: {p.command}",
        "      internalApi:",
        f"        port: {p.internal}",
        "    gateway:",
        "      network:",
        "        host: 127.0.0.1",
        f"        port: {p.grpc}",
        "    cluster:",
        "      clusterSize: 1",
        "      partitionsCount: 1",
        "      replicationFactor: 1",
    ]
    if profile == "full":
        os_url = f"http://127.0.0.1:{p.opensearch}"
        lines += [
            "    exporters:",
            "      opensearch:",
            "        className: io.camunda.zeebe.exporter.opensearch.OpensearchExporter",
            "        args:",
            f"          url: {_yaml_str(os_url)}",
            "          bulk:",
            "            delay: 1",
            "            size: 100",
            "          index:",
            "            prefix: zeebe-record",
            "camunda:",
            "  database:",
            "    type: opensearch",
            f"    url: {_yaml_str(os_url)}",
            "  operate:",
            "    database: opensearch",
            "    opensearch:",
            f"      url: {_yaml_str(os_url)}",
            "    zeebeOpensearch:",
            f"      url: {_yaml_str(os_url)}",
            "      prefix: zeebe-record",
            "    zeebe:",
            f"      gatewayAddress: {_yaml_str(f'127.0.0.1:{p.grpc}')}",
            "  tasklist:",
            "    database: opensearch",
            # The runner's OpenSearch lacks the index-management plugin Tasklist's archiver needs.
            "    archiverEnabled: false",
            "    opensearch:",
            f"      url: {_yaml_str(os_url)}",
            "    zeebeOpensearch:",
            f"      url: {_yaml_str(os_url)}",
            "      prefix: zeebe-record",
            "    zeebe:",
            f"      gatewayAddress: {_yaml_str(f'127.0.0.1:{p.grpc}')}",
            f"      restAddress: {_yaml_str(f'http://127.0.0.1:{p.rest}')}",
        ]
    return "\n".join(lines) + "\n"
