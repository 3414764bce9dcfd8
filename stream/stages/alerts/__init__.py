"""Alerts: ``state_machine`` (alert rules per department, open/resolve steps, recognition),
pure; the scores stage steps it on every closed window."""
