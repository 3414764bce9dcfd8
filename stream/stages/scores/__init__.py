"""Scores: ``formula`` (counts -> score, pure), ``windows`` (window ranges, DST-correct),
``accumulator`` (minute counts, watermark, closing and corrections, pure), ``stage`` (the
``ScoreKeeper``: accumulator and alert states over the table, settled into the runner's
checkpoint), ``processor`` (the scoring hop and the scores processor)."""
