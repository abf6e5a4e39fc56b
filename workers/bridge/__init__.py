"""The callback bridge: provider webhooks -> Zeebe messages.

* ``events``    — the webhook event model and event type -> message name mapping;
* ``publisher`` — ``MessagePublisher`` protocol, ``ZeebePublisher`` (pyzeebe), ``PublisherUnavailable``;
* ``app``       — ``create_app(publisher, secrets, settings)`` (Starlette);
* ``server``    — ``run_bridge(settings, zeebe_channel)`` (uvicorn) and the ``BridgeServer`` test helper;
* ``metrics``   — ``contract_bridge_webhooks_total{provider,outcome}``.
"""
