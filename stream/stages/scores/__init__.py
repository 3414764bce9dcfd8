"""Scores: ``formula`` (counts -> score, pure), ``windows`` (window ranges, DST-correct),
``accumulator`` (minute counts, watermark, closing and corrections, pure), ``stage`` (the two-phase
flush over the table), ``processor`` (the scoring hop and the scores stage)."""
