"""Render a dataset report as a notebook shows it, to check it in a real browser.

Writes an HTML page with ``DatasetReport._repr_html_()``, ``plot()`` (as a PNG) and a what-if
table for a generated Batch file (2,000 short chats, a few broken lines), then, for a screenshot:

    python scripts/render_report.py /tmp/report.html
    chromium --headless --no-sandbox --disable-gpu --disable-background-networking \\
        --disable-component-update --disable-sync --no-first-run --user-data-dir=$(mktemp -d) \\
        --window-size=1100,1500 --screenshot=docs/report.png file:///tmp/report.html
"""

from __future__ import annotations

import base64
import io
import json
import random
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import tokenomy

TEXT = (Path(__file__).resolve().parents[1] / "data" / "samples" / "sample-document.txt").read_text("utf-8")


def sample_file(folder: Path) -> Path:
    rng = random.Random(4)
    words = TEXT.split()
    lines = []
    for i in range(2000):
        roles = rng.choice([["user"], ["system", "user"], ["user", "assistant", "user"]])
        messages = []
        for role in roles:
            start = rng.randrange(len(words) - 60)
            messages.append({"role": role, "content": " ".join(words[start : start + rng.randrange(3, 12)])})
        if i % 97 == 5:  # a few long requests
            messages[-1]["content"] = " ".join(rng.choice(words) for _ in range(rng.randrange(300, 900)))
        body = {"model": "gpt-4o-mini", "max_tokens": 200, "messages": messages}
        lines.append(json.dumps({"custom_id": f"chat-{i}", "method": "POST", "url": "/v1/chat/completions",
                                 "body": body}))  # fmt: skip
    lines[41] = lines[40].replace('"custom_id": "chat-40"', '"custom_id": "chat-39"')
    lines[700] = lines[700][:90]  # a line cut short
    lines[1200] = lines[1200].replace('"POST"', '"GET"')
    path = folder / "batch_input.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def page(report: tokenomy.DatasetReport) -> str:
    buffer = io.BytesIO()
    report.plot().figure.savefig(buffer, format="png", dpi=90)
    image = base64.b64encode(buffer.getvalue()).decode("ascii")
    what_if = report.what_if(["gpt-4o", "gpt-4o-mini", "gpt-5-mini"])
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>tokenomy report</title>"
        "<style>body{font-family:system-ui,sans-serif;font-size:14px;margin:24px}"
        "pre{color:#555}</style></head><body>"
        "<pre>In [1]: report = tokenomy.analyze('batch_input.jsonl')\nIn [2]: report</pre>"
        f"{report._repr_html_()}"
        f"<pre>In [3]: report.plot()</pre><img alt='tokens per record' src='data:image/png;base64,{image}'>"
        "<pre>In [4]: report.what_if(['gpt-4o', 'gpt-4o-mini', 'gpt-5-mini'])</pre>"
        f"{what_if._repr_html_()}</body></html>"
    )


def main(out: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        report = tokenomy.analyze(sample_file(Path(folder)), as_of="2025-09-01")
        Path(out).write_text(page(report), encoding="utf-8")
    print(out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "report.html")
