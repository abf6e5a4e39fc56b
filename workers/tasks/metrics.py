"""Prometheus metrics of the job workers (seed 000, 'Observability')."""

from prometheus_client import Counter, Histogram

JOBS = Counter("contract_jobs_total", "Jobs handled, by task type and outcome", ["task_type", "outcome"])
JOB_SECONDS = Histogram("contract_job_seconds", "Time to complete a job, by task type", ["task_type"])
