"""The callback bridge: provider webhooks -> Zeebe messages.

* ``events``    — the webhook event model and event type -> message name mapping;
* ``publisher`` — ``MessagePublisher`` protocol, ``ZeebePublisher`` (pyzeebe), ``PublisherUnavailable``,
  ``PublisherBusy`` (back-pressure), ``PublishRejected`` (permanent);
* ``auth``      — ``build_verifiers(provider, dev=...)`` (the one place the webhook secrets become verifiers)
  and ``WebhookAuthenticator`` (body limit and deadline, signature: 413/408/401 before the handler runs);
* ``app``       — ``create_app(publisher, verifiers, settings)`` (Starlette; concurrency limit, Zeebe answers);
* ``server``    — ``run_bridge(settings, provider, zeebe_channel, verifiers=...)`` (uvicorn) and the
  ``BridgeServer`` test helper;
* ``metrics``   — ``contract_bridge_webhooks_total{provider,outcome}``.
"""
