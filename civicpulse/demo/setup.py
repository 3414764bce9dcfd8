"""What ``civicpulse demo`` reads and issues before its city starts (the I/O around ``demo_plan``).

* :func:`read_history`: what the store already holds that decides the degraded department and
  its surge (departments with an open alert, each department's counted presses of the last 15
  minutes): a reused data dir must not keep the alert from opening.
* :func:`with_kiosk`: the demo catalogue plus one kiosk device (a tablet at a desk of a
  department that does not degrade), which the simulator never drives: it is the visitor's.
* :func:`issue_access`: a key for that kiosk (its hash in the data dir's key store, like
  ``civicpulse devices add-key``) and the run's access file (0600) holding the live wall's token
  and the kiosk key, so a page opened later or elsewhere can be set up by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from civicpulse.schemas.catalogue import Catalogue, Device, QuestionSchedule
from civicpulse.schemas.files import write_private
from civicpulse.schemas.settings import Settings

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = ["StoreHistory", "issue_access", "read_history", "with_kiosk"]

# The stream's alert state per department follows its events: open until a `resolved` comes.
OPEN_ALERTS_SQL = (
    "SELECT scope_id FROM alerts FINAL WHERE scope = 'department' "
    "GROUP BY scope_id HAVING argMax(state, at) = 'opened'"
)
RECENT_SQL = (
    "SELECT department_id, uniqExact(event_id) FROM presses "
    "WHERE pressed_at >= {since:DateTime64(3, 'UTC')} AND verdict = 'counted' "
    "GROUP BY department_id"
)


@dataclass(frozen=True)
class StoreHistory:
    open_alerts: frozenset[str]
    #: department -> counted presses of the last 15 minutes
    recent_presses: dict[str, int]


def read_history(client: Client, now: datetime) -> StoreHistory:
    opened = client.query(OPEN_ALERTS_SQL).result_rows
    recent = client.query(RECENT_SQL, parameters={"since": now - timedelta(minutes=15)})
    return StoreHistory(
        open_alerts=frozenset(str(row[0]) for row in opened),
        recent_presses={str(dep): int(n) for dep, n in recent.result_rows},
    )


def with_kiosk(catalogue: Catalogue, *, avoid_department: str) -> tuple[Catalogue, str]:
    """The catalogue plus a kiosk device at the first site of another department; its id."""
    site = next(
        (s for s in catalogue.sites if s.department_id != avoid_department), catalogue.sites[0]
    )
    desk = next(d for d in catalogue.devices if d.site_id == site.site_id and d.retired_at is None)
    kiosk = Device(
        device_id=f"{site.site_id}-kiosk",
        channel="terminal",
        site_id=site.site_id,
        department_id=site.department_id,
        questions=(QuestionSchedule(question_id="q-service", valid_from=desk.active_from),),
        active_from=desk.active_from,
    )
    devices = (*catalogue.devices, kiosk)
    return catalogue.model_copy(update={"devices": devices}), kiosk.device_id


def issue_access(
    settings: Settings, run_dir: Path, *, kiosk: str, token: str | None
) -> tuple[str, Path]:
    """A fresh key for the kiosk device (earlier demo kiosk keys stop working); the access
    file of the run with the token and the key. Returns (key, access file)."""
    from civicpulse.api.ingest.keys import DeviceKeys

    key = DeviceKeys.in_data_dir(settings.data_dir).add(kiosk, replace=True)
    lines = [
        "# civicpulse demo: what the printed links carry (valid while this run lasts)",
        f"live_token={token or '(your CIVICPULSE_API_TOKEN)'}",
        f"kiosk_device={kiosk}",
        f"kiosk_key={key}",
    ]
    access = run_dir / "access.txt"
    write_private(access, ("\n".join(lines) + "\n").encode())
    return key, access
