"""How page cleaning does on real pages: ../shared/eval-dev/corpus (optional, not in the repo).

For each page: lines in, lines removed as boilerplate. Body sentences lost are estimated from the
dev questions: an answer pattern that matches a page's raw text but not its cleaned body means
cleaning removed a sentence an answer needed. Prints a Markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.clean import clean_page  # noqa: E402
from ingest.documents import split_header  # noqa: E402

DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "eval-dev"


def main() -> int:
    if not DEV.exists():
        print(f"{DEV} is not there: nothing to measure (it is optional)")
        return 0
    pages = {}
    lines_in = removed = 0
    for path in sorted((DEV / "corpus").glob("*.txt")):
        fields, body = split_header(path.read_text(encoding="utf-8"))
        cleaned = clean_page(body, fields.get("title", ""))
        pages[path.name] = (body, cleaned)
        lines_in += sum(1 for x in body.split("\n") if x.strip())
        removed += len(cleaned.removed)
    needed = lost = 0
    lost_ids = []
    for name in ("questions_a.jsonl", "questions_b.jsonl"):
        for line in (DEV / name).read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            for source in item.get("sources", []):
                page = pages.get(Path(source).name)
                if page is None:
                    continue
                raw, cleaned = page
                flat_raw, flat_body = " ".join(raw.split()), " ".join(cleaned.body.split())
                for pattern in item.get("accept", []):
                    if re.search(pattern, flat_raw, re.I):
                        needed += 1
                        if not re.search(pattern, flat_body, re.I):
                            lost += 1
                            lost_ids.append(item["id"])
    print("| pages | non-empty lines | removed as boilerplate | answer patterns found in the raw pages | of them lost by cleaning |")
    print("|---|---|---|---|---|")
    print(f"| {len(pages)} | {lines_in} | {removed} ({removed / max(1, lines_in):.0%}) | {needed} | {lost} {sorted(set(lost_ids))} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
