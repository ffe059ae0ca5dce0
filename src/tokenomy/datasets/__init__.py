"""Dataset reports: :func:`analyze` over JSONL files or records, :class:`DatasetReport`.

Batch API input files (checked against the Batch API's rules), fine-tuning chat files, chat
requests or plain texts are counted record by record, streamed in bounded memory and, when the
work repays it, on every core. ``read.py`` reads files; ``lines.py`` says what a task is and turns
a line into a record or a problem; ``batch.py`` checks and counts Batch API lines, ``records.py``
the other kinds; ``stats.py`` holds the mergeable partials; ``run.py`` runs the work;
``whatif.py`` and ``report.py`` price and render it.
"""

from tokenomy.datasets.lines import KINDS
from tokenomy.datasets.read import MAX_LINE_BYTES
from tokenomy.datasets.report import DatasetReport, ModelTotals, analyze, report_from_stats
from tokenomy.datasets.run import collect
from tokenomy.datasets.stats import LIST_CAP, DatasetStats
from tokenomy.datasets.whatif import WhatIfReport, WhatIfRow

__all__ = [
    "KINDS",
    "LIST_CAP",
    "MAX_LINE_BYTES",
    "DatasetReport",
    "DatasetStats",
    "ModelTotals",
    "WhatIfReport",
    "WhatIfRow",
    "analyze",
    "collect",
    "report_from_stats",
]
