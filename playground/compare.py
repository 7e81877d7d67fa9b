"""Two results side by side: the differences between two exports' numbers, by their kind.

A concept's export (``playground.export.Export.numbers``) is a dict of named values. Comparing the
numbers of setting A with those of setting B needs no knowledge of the concept: a list of
probabilities is compared as a distribution (KL divergence, total variation, the top-k that
changed), a matrix or an image by its pixel difference, a number by its delta.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

TOP_K = 5  # how many of a distribution's top entries are compared
SUMS_TO_ONE = 1e-3  # a non-negative list summing to 1 within this is a distribution


@dataclass(frozen=True)
class Row:
    quantity: str  # the number's name, and what was measured of it
    a: str
    b: str
    delta: str  # B − A, or the measure of how far apart they are


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _flat(x: Any) -> list[float] | None:
    """Every number of a (nested) list, or None when it holds anything else."""
    if _is_number(x):
        return [float(x)]
    if isinstance(x, (list, tuple)) and x:
        flat: list[float] = []
        for item in x:
            part = _flat(item)
            if part is None:
                return None
            flat += part
        return flat
    return None


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() and abs(x) >= 1e4 else f"{x:.4g}"


def kl_divergence(p: list[float], q: list[float]) -> float:
    """KL(p ‖ q) in nats: inf where q gives 0 to something p does not."""
    total = 0.0
    for pi, qi in zip(p, q, strict=True):
        if pi > 0:
            total += math.inf if qi <= 0 else pi * math.log(pi / qi)
    return total


def is_distribution(values: list[float]) -> bool:
    return all(v >= 0 for v in values) and abs(sum(values) - 1) <= SUMS_TO_ONE


def top(values: list[float], k: int = TOP_K) -> list[int]:
    return sorted(range(len(values)), key=lambda i: -values[i])[:k]


def _distribution(name: str, p: list[float], q: list[float], labels: list | None) -> list[Row]:
    tv = 0.5 * sum(abs(a - b) for a, b in zip(p, q, strict=True))
    name_of = (lambda i: str(labels[i])) if labels else str
    top_p, top_q = top(p), top(q)
    moved = [name_of(i) for i in top_q if i not in top_p]
    return [
        Row(f"{name}: KL(A ‖ B)", "", "", _fmt(kl_divergence(p, q))),
        Row(f"{name}: total variation", "", "", _fmt(tv)),
        Row(f"{name}: top {len(top_p)}", ", ".join(map(name_of, top_p)),
            ", ".join(map(name_of, top_q)), f"new in B: {', '.join(moved) or 'none'}"),
        Row(f"{name}: largest p", _fmt(max(p)), _fmt(max(q)), _fmt(max(q) - max(p))),
    ]  # fmt: skip


def diff(a: dict[str, Any], b: dict[str, Any]) -> list[Row]:
    """What changed from A to B, one or more rows per key the two have in common."""
    labels = next((v for k, v in a.items() if k in ("labels", "tokens") and v == b.get(k)), None)
    rows = []
    for key in a.keys() & b.keys():
        x, y = a[key], b[key]
        fx, fy = _flat(x), _flat(y)
        if fx is not None and fy is not None and len(fx) == len(fy):
            if len(fx) == 1:
                rows.append(Row(key, _fmt(fx[0]), _fmt(fy[0]), _fmt(fy[0] - fx[0])))
            elif is_distribution(fx) and is_distribution(fy) and not isinstance(x[0], list):
                rows += _distribution(key, fx, fy, labels if len(labels or ()) == len(fx) else None)
            else:
                gaps = [abs(u - v) for u, v in zip(fx, fy, strict=True)]
                mean = f"{_fmt(sum(gaps) / len(gaps))} (max {_fmt(max(gaps))})"
                rows.append(Row(f"{key}: mean |B − A| over {len(gaps):,}", "", "", mean))
        elif x == y:
            rows.append(Row(key, "same", "same", ""))
        else:
            rows.append(Row(key, _short(x), _short(y), "differs"))
    order = list(a)
    return sorted(rows, key=lambda r: order.index(r.quantity.split(":")[0]))


def _short(x: Any, limit: int = 80) -> str:
    text = str(x)
    return text if len(text) <= limit else text[: limit - 1] + "…"
