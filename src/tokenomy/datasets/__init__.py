"""Dataset reports: :func:`analyze` over JSONL files or records, :class:`DatasetReport`.

Batch API input files (checked against the Batch API's rules), fine-tuning chat files, chat
requests or plain texts are counted record by record, streamed in bounded memory and, when the
work repays it, on every core. ``read.py`` reads files, ``records.py`` counts lines,
``stats.py`` holds the mergeable partials, ``run.py`` runs the work and ``report.py`` prices
and renders it.
"""

from tokenomy.datasets.read import MAX_LINE_BYTES
from tokenomy.datasets.records import KINDS
from tokenomy.datasets.report import (
    DatasetReport,
    ModelTotals,
    WhatIfReport,
    WhatIfRow,
    analyze,
    report_from_stats,
)
from tokenomy.datasets.run import collect
from tokenomy.datasets.stats import LIST_CAP, DatasetStats

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
