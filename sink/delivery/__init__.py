"""Alert delivery: a sink in quix-streams' sense (Kafka -> systems outside the pipeline).

It consumes ``alerts.all`` as its own consumer group and hands every alert event to the
departments that subscribed to it (``CIVICPULSE_SUBSCRIPTIONS``, TOML): webhooks (JSON, Slack,
Teams) and e-mail. What lives where:

- :mod:`.subscriptions` reads and validates the subscriptions file (errors name the line);
- :mod:`.matching` decides which subscription receives which event, and when it escalates;
- :mod:`.render` turns an event into each format's message (:mod:`.texts`: the words, pl/en);
- :mod:`.senders` signs and posts webhooks, sends mail over SMTP;
- :mod:`.backoff` the retry schedule; :mod:`.progress` which offsets may be committed;
- :mod:`.context` names from the catalogue and the worst site from ``scores``;
- :mod:`.actions` acknowledgements from ``alerts.actions``; :mod:`.escalation` who is due one;
- :mod:`.deadletters` the last resort; :mod:`.options` the service's knobs and counters;
- :mod:`.service` the consumer loop that ties them together (``civicpulse alerts deliver``,
  :mod:`.cli`).

The subscriptions, matching, rendering, back-off, commit points and escalation book are pure and
unit-tested without a network; the rest is tested against a real broker and real servers.
"""
