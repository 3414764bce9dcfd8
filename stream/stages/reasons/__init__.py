"""Follow-up reasons per department and hour: the worked example of the processor API."""
