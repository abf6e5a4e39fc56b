"""Prometheus metrics of the job workers (seed 000, 'Observability').

``contract_jobs_total`` is counted once Zeebe acknowledged the command (outcomes: completed, bpmn_error,
failed, incident, timed_out, too_large, handed_back, superseded, dropped).
"""

from prometheus_client import Counter, Gauge, Histogram

JOBS = Counter("contract_jobs_total", "Jobs handled, by task type and outcome", ["task_type", "outcome"])
JOB_SECONDS = Histogram("contract_job_seconds", "Time to complete a job, by task type", ["task_type"])
JOBS_IN_FLIGHT = Gauge("contract_jobs_in_flight", "Handlers running now, by task type", ["task_type"])
JOBS_QUEUED = Gauge("contract_jobs_queued", "Streamed jobs waiting for a free slot, by task type", ["task_type"])
GATEWAY_ERRORS = Counter("contract_gateway_errors_total", "Failed gateway calls of the job loops, by loop and status",
                         ["task_type", "loop", "status"])  # fmt: skip
