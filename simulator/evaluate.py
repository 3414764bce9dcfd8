"""Filter precision/recall: a simulated run's ground-truth labels against anti-spam verdicts.

Labels (``labels.jsonl`` of ``civicpulse simulate``) and verdicts (the output of ``civicpulse
replay``, or judged presses read back from the stream's topics) are paired press by press: by
position when both list the same presses in the same order (replay does), else by ``event_id``
(the k-th label of an id with the k-th verdict of that id: a network retry's copy arrives after
its original) and, for dead letters, by ``line``.

A press is *rejected* when its verdict is anything but ``counted`` (dead letters included).
Recall of a dishonest pattern = its rejected share; for ``honest`` the rejected share is the
filter's false-positive rate. Precision = the dishonest share of all rejected presses.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from civicpulse.simulator.plan import LABELS

__all__ = ["Evaluation", "evaluate"]


@dataclass
class Evaluation:
    """Verdict counts per ground-truth label, and the figures derived from them."""

    by_label: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    unmatched_labels: int = 0
    unmatched_verdicts: int = 0

    def total(self, label: str) -> int:
        return sum(self.by_label.get(label, Counter()).values())

    def rejected(self, label: str) -> int:
        verdicts = self.by_label.get(label, Counter())
        return sum(verdicts.values()) - verdicts.get("counted", 0)

    def rejected_share(self, label: str) -> float | None:
        """Recall for a dishonest label; the false-positive rate for ``honest``."""
        total = self.total(label)
        return self.rejected(label) / total if total else None

    @property
    def labels(self) -> list[str]:
        known = [label for label in LABELS if label in self.by_label]
        return known + sorted(set(self.by_label) - set(LABELS))

    def _dishonest(self) -> list[str]:
        return [label for label in self.labels if label != "honest"]

    @property
    def precision(self) -> float | None:
        """Of all rejected presses, the share that really were dishonest."""
        rejected = sum(self.rejected(label) for label in self.labels)
        dishonest = sum(self.rejected(label) for label in self._dishonest())
        return dishonest / rejected if rejected else None

    @property
    def recall(self) -> float | None:
        """Of all dishonest presses, the share the filter rejected."""
        total = sum(self.total(label) for label in self._dishonest())
        caught = sum(self.rejected(label) for label in self._dishonest())
        return caught / total if total else None

    def verdict_precision(self) -> dict[str, tuple[int, float]]:
        """Per rejecting verdict: (presses, share of them that were dishonest)."""
        totals: Counter[str] = Counter()
        dishonest: Counter[str] = Counter()
        for label, verdicts in self.by_label.items():
            for verdict, n in verdicts.items():
                totals[verdict] += n
                if label != "honest":
                    dishonest[verdict] += n
        return {
            verdict: (n, dishonest[verdict] / n)
            for verdict, n in sorted(totals.items())
            if verdict != "counted"
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": {
                label: {
                    "presses": self.total(label),
                    "rejected": self.rejected(label),
                    "rejected_share": self.rejected_share(label),
                    "verdicts": dict(sorted(self.by_label[label].items())),
                }
                for label in self.labels
            },
            "precision": self.precision,
            "recall": self.recall,
            "verdict_precision": {
                verdict: {"presses": n, "dishonest_share": share}
                for verdict, (n, share) in self.verdict_precision().items()
            },
            "unmatched_labels": self.unmatched_labels,
            "unmatched_verdicts": self.unmatched_verdicts,
        }


def _label_of(record: Mapping[str, Any]) -> str:
    label = record.get("label")
    if not isinstance(label, str):
        raise ValueError(f"label record without a `label`: {dict(record)!r}")
    return label


def evaluate(
    labels: Iterable[Mapping[str, Any]], verdicts: Iterable[Mapping[str, Any]]
) -> Evaluation:
    """Pair labels with verdicts (see the module doc) and count verdicts per label."""
    label_list, verdict_list = list(labels), list(verdicts)
    result = Evaluation()
    positional = len(label_list) == len(verdict_list) and all(
        verdict.get("verdict") == "deadletter"
        or label.get("event_id") is None
        or verdict.get("event_id") == label.get("event_id")
        for label, verdict in zip(label_list, verdict_list, strict=True)
    )
    if positional:
        for label, verdict in zip(label_list, verdict_list, strict=True):
            result.by_label[_label_of(label)][str(verdict.get("verdict"))] += 1
        return result
    by_id: dict[str, deque[str]] = defaultdict(deque)
    by_line: dict[int, str] = {}
    for record in label_list:
        if record.get("event_id") is not None:
            by_id[str(record["event_id"])].append(_label_of(record))
        if isinstance(record.get("line"), int):
            by_line[record["line"]] = _label_of(record)
    matched_lines: set[int] = set()
    for verdict in verdict_list:
        event_id, line = verdict.get("event_id"), verdict.get("line")
        if event_id is not None and by_id.get(str(event_id)):
            result.by_label[by_id[str(event_id)].popleft()][str(verdict.get("verdict"))] += 1
        elif isinstance(line, int) and line in by_line and verdict.get("verdict") == "deadletter":
            result.by_label[by_line[line]][str(verdict.get("verdict"))] += 1
            matched_lines.add(line)
        else:
            result.unmatched_verdicts += 1
    result.unmatched_labels = sum(len(queue) for queue in by_id.values()) + sum(
        1
        for record in label_list
        if record.get("event_id") is None and record.get("line") not in matched_lines
    )
    return result
