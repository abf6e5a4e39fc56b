"""The three ways a task can end badly, and what Zeebe should do about each.

Tasks raise these; ``workers.tasks.runtime`` turns them into Zeebe commands:

* ``BusinessError``  -> ``ThrowError`` with a BPMN error code (the diagram has a path for it);
* ``TransientError`` -> ``FailJob`` with retries-1 and an exponential back-off (or the provider's
  Retry-After); at 0 retries Zeebe raises an incident showing ``message``;
* any other exception -> treated as transient, with a generic message naming the exception type only
  (an unexpected exception's text may carry data we never promised to keep out of Operate).

Messages end up in Operate, so they are written for an operator: what failed, what to do.
They must never contain a token, a secret or personal data.
"""

from __future__ import annotations


class SafeMessage:
    """Marker base: this exception class's message is written by us for an operator and is known to be
    free of personal data and secrets, so ``workers.logs`` may print it (and Operate may show it).

    The log processor prints an exception's message only when its class sets ``safe_message = True``
    through this marker (a class of the ``workers`` package); every other exception is logged as its
    type and stack frames only. A subclass whose message may carry data sets ``safe_message = False``.
    """

    safe_message = True


class BusinessError(SafeMessage, Exception):
    """Bad input that no retry can fix: raised to the process as a BPMN error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ContractDataInvalid(BusinessError):
    """The process variables do not fit the contract template."""

    CODE = "CONTRACT_DATA_INVALID"

    def __init__(self, message: str, fields: list[str] | None = None) -> None:
        super().__init__(self.CODE, message)
        self.fields = sorted(fields or [])


class TransientError(SafeMessage, Exception):
    """A technical failure a retry may fix (provider down, 5xx, timeout, 429).

    ``retry_after`` (seconds) overrides the task's exponential back-off, e.g. from a Retry-After header.
    ``spend_retry`` False means the failure says nothing about the job itself (rate limiting), so the
    job is handed back with its retries unchanged.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, spend_retry: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.spend_retry = spend_retry
