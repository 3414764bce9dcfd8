"""Rich tables of a filter evaluation (``civicpulse simulate evaluate``)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from civicpulse.simulator.evaluate import Evaluation

__all__ = ["print_evaluation"]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def print_evaluation(result: Evaluation, console: Console) -> None:
    """Per label: presses, rejected share (recall; false-positive rate for honest), verdicts."""
    table = Table(title="anti-spam vs ground truth")
    for column, justify in (("label", "left"), ("presses", "right"), ("rejected", "right"),
                            ("recall / FP rate", "right"), ("verdicts", "left")):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for label in result.labels:
        verdicts = result.by_label[label]
        total = result.total(label)
        spread = ", ".join(
            f"{verdict} {100 * n / total:.0f}%" for verdict, n in verdicts.most_common()
        )
        name = "honest (false positives)" if label == "honest" else label
        table.add_row(
            name, f"{total:,}", f"{result.rejected(label):,}",
            _pct(result.rejected_share(label)), spread,
        )  # fmt: skip
    console.print(table)
    per_verdict = Table(title="precision per rejecting verdict")
    per_verdict.add_column("verdict")
    per_verdict.add_column("presses", justify="right")
    per_verdict.add_column("dishonest share", justify="right")
    for verdict, (n, share) in result.verdict_precision().items():
        per_verdict.add_row(verdict, f"{n:,}", _pct(share))
    console.print(per_verdict)
    console.print(
        f"filter precision {_pct(result.precision)}  recall {_pct(result.recall)}"
        + (
            f"  [yellow]unmatched: {result.unmatched_labels} label(s), "
            f"{result.unmatched_verdicts} verdict(s)[/]"
            if result.unmatched_labels or result.unmatched_verdicts
            else ""
        )
    )
