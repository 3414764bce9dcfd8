"""The live wall's SQL (``GET /v1/live/summary``), parameterised with server-side binding only.

One level at a time: ``{scope:String}`` is ``'department'`` (the city wall: one row per
department) or ``'site'`` (a department page: one row per site of ``{department:String}``).
``{ids:Array(String)}`` restricts the scores to those scope ids (empty = all).

* :data:`LIVE_SCORES`: each id's latest closed rolling 15-min citizen window ending in
  ``(since, at]`` (the stream stores closed windows only, so "current" is the last one closed);
* :data:`LIVE_SPARKLINE`: the same windows over a longer span, one point every ``step_s``;
* :data:`LIVE_PRESSES`: counted citizen presses in the last minute and the last 15 minutes;
* :data:`LIVE_OPEN_ALERTS`: alerts opened by ``at`` with no resolution by ``at``.
"""

from __future__ import annotations

from civicpulse.analytics.queries import NOT_CONFIRMED_MISUSE

__all__ = ["LIVE_OPEN_ALERTS", "LIVE_PRESSES", "LIVE_SCORES", "LIVE_SPARKLINE"]

_CITIZEN_15M = """
    scope = {scope:String} AND kind = 'citizen' AND `window` = '15m'
    AND (empty({ids:Array(String)}) OR has({ids:Array(String)}, scope_id))
"""

LIVE_SCORES = """
SELECT scope_id, max(window_end) AS last_end,
       argMax(n, window_end) AS n, argMax(score, window_end) AS score
FROM scores FINAL
WHERE @CITIZEN_15M
  AND window_end > {since:DateTime64(3, 'UTC')} AND window_end <= {at:DateTime64(3, 'UTC')}
GROUP BY scope_id
ORDER BY scope_id
""".replace("@CITIZEN_15M", _CITIZEN_15M)

LIVE_SPARKLINE = """
SELECT scope_id, window_end, n, score
FROM scores FINAL
WHERE @CITIZEN_15M
  AND window_end > {spark_since:DateTime64(3, 'UTC')}
  AND window_end <= {at:DateTime64(3, 'UTC')}
  AND toUnixTimestamp(window_end) % {step_s:UInt32} = 0
ORDER BY scope_id, window_end
""".replace("@CITIZEN_15M", _CITIZEN_15M)

# Same filter as the score recomputation (analytics/queries.py): counted, each event once, citizen
# questions only (a press without a question is citizen feedback), confirmed misuse left out.
# (The scores come from `scores`, whose windows a confirmation rewrites.)
LIVE_PRESSES = """
SELECT if({scope:String} = 'site', assumeNotNull(site_id), assumeNotNull(department_id))
           AS scope_id,
       countIf(pressed_at >= {minute_ago:DateTime64(3, 'UTC')}) AS presses_1m,
       count() AS presses_15m
FROM presses FINAL
WHERE verdict = 'counted' AND site_id IS NOT NULL AND department_id IS NOT NULL
  AND ifNull(CAST(question_kind, 'Nullable(String)'), 'citizen') = 'citizen'
  AND pressed_at >= {quarter_ago:DateTime64(3, 'UTC')} AND pressed_at < {at:DateTime64(3, 'UTC')}
  AND ({department:String} = '' OR department_id = {department:String})
  AND @NOT_CONFIRMED_MISUSE
GROUP BY scope_id
ORDER BY scope_id
""".replace("@NOT_CONFIRMED_MISUSE", NOT_CONFIRMED_MISUSE)

# Open at `at`: opened, neither resolved nor closed by hand by then; recognitions are good news,
# never open.
LIVE_OPEN_ALERTS = """
SELECT toString(alert_id) AS alert_id, CAST(scope, 'String') AS scope, scope_id, department_id,
       score, n, threshold, at, CAST(kind, 'String') AS kind_s, window_start
FROM alerts FINAL
WHERE state = 'opened' AND at <= {at:DateTime64(3, 'UTC')} AND kind != 'recognition'
  AND ({department:String} = '' OR department_id = {department:String})
  AND alert_id NOT IN (
      SELECT alert_id FROM alerts WHERE state = 'resolved' AND at <= {at:DateTime64(3, 'UTC')}
  )
  AND alert_id NOT IN (
      SELECT alert_id FROM alert_actions
      WHERE action = 'close' AND at <= {at:DateTime64(3, 'UTC')}
  )
ORDER BY at DESC
LIMIT 100
"""
