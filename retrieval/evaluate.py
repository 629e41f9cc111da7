"""`desk eval`: run a question set through the answer engine and score it.

Each JSONL line: {"id", "question", "accept": [regex, ...], "kind": "table|article|both|unanswerable",
"sources": [file names]}. An item passes when every accept pattern matches the answer text
(case-insensitive) and the answer is not refused; an unanswerable item passes when refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath

from retrieval.errors import InputError

KINDS = ("table", "article", "both", "unanswerable")


def load_items(path: Path) -> list[dict]:
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(str(path), f"is not valid JSON ({exc.msg})", line=n, column=exc.colno) from None
        for key in ("id", "question", "kind"):
            if key not in item:
                raise InputError(str(path), f"the item has no {key!r} field", line=n)
        if item["kind"] not in KINDS:
            raise InputError(str(path), f"kind must be one of {', '.join(KINDS)}, got {item['kind']!r}", line=n)
        for pattern in item.get("accept", []):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise InputError(
                    str(path), f"accept pattern {pattern!r} is not a valid regex ({exc})", line=n
                ) from None
        items.append(item)
    if not items:
        raise InputError(str(path), "holds no questions")
    return items


def passes(item: dict, answer) -> bool:
    if item["kind"] == "unanswerable":
        return answer.refused
    return not answer.refused and all(re.search(p, answer.text, re.I) for p in item.get("accept", []))


def cites_expected(item: dict, answer) -> bool | None:
    expected = {PurePosixPath(s).name.lower() for s in item.get("sources", [])}
    if not expected or answer.refused:
        return None
    names = {PurePosixPath(c.ref.replace("\\", "/")).name.lower() for c in answer.citations}
    return bool(names & expected)


def half_of(item_id: str) -> str | None:
    """Dev sets are tuned on their odd-numbered questions and reported on the even ones."""
    digits = re.search(r"(\d+)$", item_id)
    if digits is None:
        return None
    return "tuning (odd)" if int(digits.group(1)) % 2 else "held-out (even)"


def score_by_kind(results: list[dict]) -> dict:
    by_kind = {}
    for kind in KINDS:
        chosen = [r for r in results if r["kind"] == kind]
        if chosen:
            by_kind[kind] = {
                "passed": sum(r["passed"] for r in chosen),
                "total": len(chosen),
                "rate": round(sum(r["passed"] for r in chosen) / len(chosen), 3),
            }
    return by_kind


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def run_eval(engine, items: list[dict], halves: bool = False) -> dict:
    results, latencies = [], []
    for item in items:
        answer = engine.ask(item["question"])
        latencies.append(answer.timings_ms.get("total", 0.0))
        results.append(
            {
                "id": item["id"],
                "question": item["question"],
                "kind": item["kind"],
                "passed": passes(item, answer),
                "cites_expected": cites_expected(item, answer),
                "answer": answer.to_dict(),
            }
        )
    by_kind = score_by_kind(results)
    half_names: set[str] = {h for r in results if (h := half_of(r["id"])) is not None} if halves else set()
    by_half = (
        {}
        if not half_names
        else {
            half: score_by_kind([r for r in results if half_of(r["id"]) == half])
            for half in sorted(half_names, reverse=True)
        }
    )
    cited = [r["cites_expected"] for r in results if r["cites_expected"] is not None]
    uncited = sum(1 for r in results if not r["answer"]["refused"] and not r["answer"]["citations"])
    summary = {
        "total": len(results),
        "passed": sum(r["passed"] for r in results),
        "by_kind": by_kind,
        "by_half": by_half,
        "expected_source_cited": round(sum(cited) / len(cited), 3) if cited else None,
        "answers_without_citation": uncited,
        "latency_ms": {"p50": round(percentile(latencies, 50), 1), "p95": round(percentile(latencies, 95), 1)},
    }
    return {"items": results, "summary": summary}
