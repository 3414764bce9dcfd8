"""The stream stage: enrichment + anti-spam, scores, alerts (pure cores); Faust wiring."""
