-- The contract score as ClickHouse functions (issue 22): the one SQL spelling of
-- `100 * mean((button - 1) / 3)`, called by every query, panel and figure that derives a score.
--
-- civicpulse_score(n1, n2, n3, n4): the score of presses counted per button; NULL without
-- presses. The arithmetic is the stream's (stream/stages/scores/formula.py `Counts.score`) step
-- for step: the integer sums, then `100.` times their Float64 value, then divided by 3n, so a
-- score from SQL is the same float as the Python one (tests/integration/test_score_function.py).
--
-- civicpulse_presses_score(button, included): an aggregate over raw presses, the score of the
-- rows where `included` holds (pass `true` for every row), through their counts per button.
--
-- A SQL function is global to the server (or to the chDB data path: it is kept in
-- `<path>/user_defined/`), not to a database, so every database migrated on one engine shares
-- it. `CREATE OR REPLACE` makes the migration re-runnable on any database of the engine, and a
-- later change of the formula is a new migration replacing both.
CREATE OR REPLACE FUNCTION civicpulse_score AS (n1, n2, n3, n4) ->
    if(n1 + n2 + n3 + n4 = 0, NULL, 100. * (n2 + 2 * n3 + 3 * n4) / (3 * (n1 + n2 + n3 + n4)));

CREATE OR REPLACE FUNCTION civicpulse_presses_score AS (button, included) ->
    civicpulse_score(countIf(included AND button = 1), countIf(included AND button = 2),
                     countIf(included AND button = 3), countIf(included AND button = 4));
