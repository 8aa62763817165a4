"""Small exact statistics for the engine: nearest-rank quantiles over integer samples
(optionally weighted by a count), and a Decimal least-squares slope. No floats."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal


def quantile(samples: Iterable[tuple[int, int]], percent: int) -> int:
    """The nearest-rank `percent` quantile of (value, count) pairs: the smallest value
    whose cumulative count reaches ceil(percent × n / 100). Nearest rank always answers an
    observed value, which is what a user can check by hand ("paid 12 days late")."""
    if not 0 < percent <= 100:
        raise ValueError("percent must be in (0, 100]")
    pairs = sorted((value, count) for value, count in samples if count > 0)
    total = sum(count for _, count in pairs)
    if total == 0:
        raise ValueError("no samples")
    rank = max(1, -(-percent * total // 100))
    seen = 0
    for value, count in pairs:
        seen += count
        if seen >= rank:
            return value
    raise AssertionError("unreachable: rank <= total")


def quantiles(values: Sequence[int], *percents: int) -> tuple[int, ...]:
    pairs = [(value, 1) for value in values]
    return tuple(quantile(pairs, p) for p in percents)


def slope_and_intercept(xs: Sequence[int], ys: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """Least-squares line y = intercept + slope × x in Decimal (exact inputs, 28 digits)."""
    n = len(xs)
    if n == 0 or n != len(ys):
        raise ValueError("need as many x as y, at least one")
    mean_x = Decimal(sum(xs)) / n
    mean_y = sum(ys, Decimal(0)) / n
    sxx = sum(((Decimal(x) - mean_x) ** 2 for x in xs), Decimal(0))
    if sxx == 0:
        return Decimal(0), mean_y
    sxy = sum(((Decimal(x) - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)),
              Decimal(0))
    slope = sxy / sxx
    return slope, mean_y - slope * mean_x
