"""The annual service report: ``gather`` (the figures as plain data), ``figures`` (its arithmetic),
``standards``, ``texts``, ``svg``, ``page``, ``html`` (the page), ``pdf`` (printed by Chromium),
``cli`` (``civicpulse report``)."""
