"""Regenerate docs/exactness.md: count_request against the API-billed vectors, per category.

    python scripts/exactness.py            # writes docs/exactness.md
    python scripts/exactness.py --misses   # also lists every vector that is not exact
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from tests.reference.verified import count_vector, load_vectors, markdown, reference_file  # noqa: E402

HEADER = """# How exact are the counts?

Every figure below is measured: `count_request` on each recorded request body in
`../shared/reference/api-verified-requests.json` (live exchanges from public test suites with the
`usage` the API returned), compared with what the API billed. Regenerate with
`python scripts/exactness.py`; `tests/reference/test_api_verified.py` fails if the rates fall.
Older documented and API-verified cases (the cookbook, hmarr/openai-chat-tokens,
pamelafox/openai-messages-token-helper) are tests in `tests/test_messages.py`, all exact.

"""


def main() -> int:
    path = reference_file()
    if path is None:
        print("api-verified-requests.json not found; set TOKENOMY_REFERENCE_DIR", file=sys.stderr)
        return 2
    outcomes = [count_vector(v) for v in load_vectors(path)]
    text = HEADER + markdown(outcomes) + "\n"
    misses = [o for o in outcomes if not o.hit]
    if "--misses" in sys.argv:
        for o in misses:
            v = o.vector
            print(v["id"], v["model"], v["kind"], v["expected_tokens"], o.counted, o.diff, o.error or "",
                  "exact-flag" if o.exact_flag else "", sorted(v["features"]))
    text += "\n## Not exact\n\n| vector | model | API | billed | counted | why |\n"
    text += "| --- | --- | --- | ---: | ---: | --- |\n"
    for o in misses:
        v = o.vector
        why = "; ".join(o.notes)[:160] or (o.error or "")
        text += f"| {v['id']} | {v['model']} | {v['kind']} | {v['expected_tokens']} | {o.counted} | {why} |\n"
    (ROOT / "docs" / "exactness.md").write_text(text, "utf-8")
    print(markdown(outcomes).splitlines()[2])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
