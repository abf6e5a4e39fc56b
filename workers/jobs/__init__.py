"""Our job-worker runtime on the Zeebe gateway's gRPC API (replaces pyzeebe's worker loop).

One module per concept:

* ``job``      — an activated job as we use it (typed fields, variables decoded once);
* ``slots``    — the per-task-type cap shared by polling and streaming (FIFO hand-off to queued jobs);
* ``backoff``  — jittered exponential back-off that starts small and resets on success;
* ``status``   — what a gRPC status code means to us (retry, refresh the token, superseded, ...);
* ``gateway``  — the stub plus connection state: last success (readiness), one forced token refresh;
* ``commands`` — complete / fail / throw / update-timeout, retried on back-pressure within the lease;
* ``lease``    — the job's deadline as we hold it, extended by the heartbeat;
* ``executor`` — one job: handler bounded by the lease, opt-in heartbeat, outcome sent, counted on ack;
* ``poller`` / ``streamer`` — the two ways jobs reach us, both bounded by the same slots;
* ``worker``   — composition per task type, lifecycle (graceful stop), liveness;
* ``health``   — ``/metrics``, ``/healthz``, ``/readyz``.

pyzeebe is still used for the channel helpers, the generated stub and the client.
"""
