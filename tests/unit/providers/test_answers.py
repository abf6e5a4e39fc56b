"""workers.providers.answers: Retry-After parsing and clamping, 422 field names, media types."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from workers.providers.answers import field_names, is_pdf_media_type, media_type, parse_retry_after, problem_fields

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("1e300", 300.0),
        ("inf", 300.0),
        ("9" * 60, 300.0),
        ("9" * 65, 5.0),  # longer than any sane header: ignored
        ("301", 300.0),
        ("-3", 5.0),
        ("nan", 5.0),
        ("soon", 5.0),
        ("", 5.0),
        (None, 5.0),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 300.0),
        ("Mon, 32 Foo 2025 99:99:99 GMT", 5.0),
        ("Wed, 01 Jan 2025 12:00:42 GMT", 42.0),
        ("Wed, 01 Jan 2025 11:59:00 GMT", 0.0),  # in the past: go now
        ("Wed, 01 Jan 0001 00:00:00 GMT", 0.0),
    ],
)
def test_retry_after_is_parsed_and_clamped(header, expected) -> None:
    assert parse_retry_after(header, now=NOW) == expected


def test_retry_after_maximum_and_default_are_configurable() -> None:
    assert parse_retry_after("1e300", maximum=60, now=NOW) == 60
    assert parse_retry_after(format_datetime(NOW + timedelta(days=3), usegmt=True), maximum=60, now=NOW) == 60
    assert parse_retry_after("junk", default=900, maximum=60) == 60  # a default beyond the cap is capped too


def test_problem_fields_keep_names_and_never_the_problem_text() -> None:
    body = {"fields": [
        {"name": "employee_email", "problem": "Grace Hopper's address is not allowed"},
        {"name": "address.city"},
        {"name": "items[0].name"},
        {"name": "Grace Hopper"},
        {"name": "grace@example.com"},
        {"problem": "no name"},
        {"name": 42},
        "junk",
        {"name": "employee_email"},
    ]}  # fmt: skip
    assert problem_fields(body) == (["employee_email", "address.city", "items[0].name"], 5)
    assert problem_fields({"fields": "x"}) == ([], 0) and problem_fields(None) == ([], 0)


def test_field_names_filters_anything_that_is_not_an_identifier() -> None:
    assert field_names(["b", "a", "b", "x y", "<i>", 3, "ok_1"]) == ["b", "a", "ok_1"]
    assert field_names("not a list") == []


@pytest.mark.parametrize(
    ("header", "bare", "pdf"),
    [
        ("application/pdf", "application/pdf", True),
        ("Application/PDF; name=x.pdf", "application/pdf", True),
        ("application/octet-stream", "application/octet-stream", True),
        (None, "(none)", True),
        ("text/html; charset=utf-8", "text/html", False),
        ("application/json", "application/json", False),
        ("<script>alert(1)</script>", "(unreadable)", False),
    ],
)
def test_media_types(header, bare, pdf) -> None:
    assert media_type(header) == bare
    assert is_pdf_media_type(header) is pdf
