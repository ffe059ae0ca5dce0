"""The histogram of a dataset report: tokens per record, one series per model, sized to the data."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import Any

from tokenomy.registry import resolve


def plot_histograms(hists: Mapping[str, Counter[int]], over: Mapping[str, int], title: str,
                    as_of: date | None, ax: Any = None) -> Any:  # fmt: skip
    """Draw each model's histogram of tokens per record on ``ax`` (a new figure if None); a log axis
    when the counts spread over more than two orders of magnitude; a model's context window only
    when the data reaches near it, or some record is over it."""
    try:
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        raise ImportError('report.plot() needs matplotlib: pip install "tokenomy[plot]"') from None
    import numpy as np

    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 3.8), layout="constrained")
    ax.set_xlabel("input tokens per record")
    ax.set_ylabel("records")
    ax.set_title(title)
    hists = {name: h for name, h in hists.items() if h}
    if not hists:
        return ax
    low = min(min(h) for h in hists.values())
    high = max(max(h) for h in hists.values())
    spread = high / max(low, 1) > 100
    if spread:
        bins = np.geomspace(max(low, 1), high + 1, 50)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    else:
        bins = np.linspace(low, high + 1, min(50, high - low + 1) + 1)
    for name, hist in hists.items():
        values = sorted(hist)
        ax.hist([max(v, 1) if spread else v for v in values], bins=bins, weights=[hist[v] for v in values],
                alpha=0.6 if len(hists) > 1 else 0.9, label=f"{name} ({sum(hist.values()):,})")  # fmt: skip
    for name in hists:
        window = resolve(name, as_of or date.today(), warn=False).context_window
        if window is not None and (window <= 1.25 * high or over.get(name)):
            ax.axvline(window, color="red", linestyle="--", label=f"{name} window ({window:,})")
    ax.legend(loc="best", fontsize="small")
    return ax
