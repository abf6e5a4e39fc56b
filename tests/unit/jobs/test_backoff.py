from __future__ import annotations

import random

import pytest

from workers.jobs.backoff import Backoff


class Fixed(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def test_grows_exponentially_from_tens_of_ms_and_is_capped() -> None:
    b = Backoff(0.025, 1.0, rng=Fixed(1.0))  # upper end of the jitter window = the nominal delay
    assert [round(b.next(), 3) for _ in range(8)] == [0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_jitter_stays_within_half_to_full_nominal() -> None:
    low, high = Backoff(0.1, 10, rng=Fixed(0.0)), Backoff(0.1, 10, rng=Fixed(0.999))
    assert [round(low.next(), 3) for _ in range(3)] == [0.05, 0.1, 0.2]
    assert all(d < n for d, n in zip([high.next() for _ in range(3)], [0.1, 0.2, 0.4]))
    seeded = Backoff(0.1, 10, rng=random.Random(7))
    delays = [seeded.next() for _ in range(6)]
    for i, delay in enumerate(delays):
        nominal = 0.1 * 2**i
        assert nominal / 2 <= delay <= nominal
    assert len({round(d / (0.1 * 2**i), 6) for i, d in enumerate(delays)}) > 1  # not lock-step


def test_reset_starts_small_again() -> None:
    b = Backoff(0.025, 5.0, rng=Fixed(1.0))
    for _ in range(6):
        b.next()
    assert b.nominal() == pytest.approx(1.6)
    b.reset()
    assert b.attempt == 0
    for _ in range(2_000):  # a long outage: no overflow, stays at the cap
        assert b.next() <= 5.0
    b.reset()
    assert b.next() == pytest.approx(0.025)


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        Backoff(0, 1)
    with pytest.raises(ValueError):
        Backoff(2, 1)
