"""The catalogue's service standards mirrored into ClickHouse (migration 0011), for Grafana.

It writes (the one writer of the table), yet lives with the read side: it needs the rule's
reading of the catalogue (:mod:`civicpulse.analytics.standards`), which the sink may not import.

Grafana reads only ClickHouse, and the standards live in the catalogue (file and compacted
topic). The process that owns the store (``civicpulse up``, ``civicpulse api serve``) follows the
catalogue already (:class:`civicpulse.api.ingest.catalogue_source.CatalogueSource`); a
:class:`StandardsMirror` beside it keeps the table ``standards`` equal to the catalogue's
standards: on every change it writes the whole set under a new generation, then records the
generation, so ``standards_current`` (the newest recorded generation) switches from one complete
set to the next and a removed standard is gone from it. A set equal to the stored one is not
written again, so restarts and repeated polls add nothing.

Each row carries what :mod:`civicpulse.analytics.standards` reads from the catalogue besides the
standard itself: the department it belongs to and the sites it counts (:func:`department_of`,
:func:`sites_of`), so the panel SQL measures exactly what ``GET /v1/standards`` measures.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from civicpulse.analytics.standards import department_of, sites_of
from civicpulse.schemas.catalogue import Catalogue

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = [
    "STANDARD_COLUMNS",
    "StandardRow",
    "StandardsMirror",
    "current_rows",
    "mirror_standards",
    "standard_rows",
    "start_standards_mirror",
]

log = logging.getLogger(__name__)

#: the columns of ``standards`` / ``standards_current`` a mirror writes (besides ``generation``)
STANDARD_COLUMNS = (
    "scope",
    "id",
    "question",
    "target_score",
    "min_responses_per_day",
    "valid_from",
    "department_id",
    "sites",
)
#: (scope, id, question or "", target_score, min_responses_per_day, from, department, sites)
StandardRow = tuple[str, str, str, float, int, date, str, tuple[str, ...]]

_CURRENT = """
SELECT scope, id, question, target_score, min_responses_per_day, valid_from, department_id, sites
FROM standards_current
ORDER BY scope, id, question, valid_from
"""


def standard_rows(catalogue: Catalogue) -> list[StandardRow]:
    """The rows of the catalogue's standards, in the table's order (pure)."""
    rows = [
        (
            s.scope,
            s.id,
            s.question or "",
            float(s.target_score),
            int(s.min_responses_per_day),
            s.valid_from,
            department_of(catalogue, s) or "",
            tuple(sorted(sites_of(catalogue, s))),
        )
        for s in catalogue.standards
    ]
    return sorted(rows, key=lambda r: (r[0], r[1], r[2], r[5]))


def current_rows(client: Client) -> list[StandardRow]:
    """The standards the store holds now (``standards_current``)."""
    return [
        (str(sc), str(i), str(q), float(t), int(m), d, str(dep), tuple(sites))
        for sc, i, q, t, m, d, dep, sites in client.query(_CURRENT).result_rows
    ]


def mirror_standards(client: Client, catalogue: Catalogue) -> bool:
    """Make ``standards_current`` hold exactly the catalogue's standards; True when written.

    The generation is the clock in nanoseconds, and always above the newest one stored (a clock
    stepped back must not hide the new set behind the old one).
    """
    wanted = standard_rows(catalogue)
    if current_rows(client) == wanted:
        return False
    newest = client.query("SELECT max(generation) FROM standards_generations").result_rows[0][0]
    generation = max(time.time_ns(), int(newest) + 1)
    if wanted:
        client.insert(
            "standards",
            [[generation, *row[:7], list(row[7])] for row in wanted],
            column_names=["generation", *STANDARD_COLUMNS],
        )
    client.insert(
        "standards_generations",
        [[generation, len(wanted), datetime.now(UTC)]],
        column_names=["generation", "standards", "mirrored_at"],
    )
    return True


class StandardsMirror:
    """Polls the followed catalogue and mirrors its standards whenever they change.

    ``ready`` says the catalogue was read at least once: before that the source answers an
    empty catalogue, which must not wipe the stored standards at every start. A failed write
    (store busy, table missing before ``db migrate``) is logged and retried at the next poll.
    """

    def __init__(
        self,
        client: Client,
        catalogue: Callable[[], Catalogue],
        ready: Callable[[], bool],
        interval: float = 2.0,
    ) -> None:
        self.client, self.catalogue, self.ready, self.interval = client, catalogue, ready, interval
        self._stop = threading.Event()
        self._mirrored: list[StandardRow] | None = None
        self._warned = False
        self.writes = 0

    def poll(self) -> None:
        """Mirror once if the catalogue's standards differ from the last set mirrored."""
        if not self.ready():
            return
        catalogue = self.catalogue()
        rows = standard_rows(catalogue)
        if rows == self._mirrored:
            return
        try:
            if mirror_standards(self.client, catalogue):
                self.writes += 1
                log.info("standards mirrored to ClickHouse: %d entries", len(rows))
        except Exception as exc:  # the store not there yet: the next poll retries
            # once loud, then quiet: a store without migration 0011 would repeat it every poll
            (log.debug if self._warned else log.warning)(
                "mirroring the standards failed (%s); retrying", exc
            )
            self._warned = True
            return
        self._mirrored = rows

    def run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()


def start_standards_mirror(
    client: Client,
    catalogue: Callable[[], Catalogue],
    ready: Callable[[], bool],
    interval: float = 2.0,
) -> StandardsMirror:
    """Run a :class:`StandardsMirror` on a daemon thread; call ``stop()`` when the process stops."""
    mirror = StandardsMirror(client, catalogue, ready, interval)
    threading.Thread(target=mirror.run, name="standards-mirror", daemon=True).start()
    return mirror
