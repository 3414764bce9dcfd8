"""The query API under ``/v1`` (contract "Query API"): ``routes`` (scores, ranking, heat map,
verdicts, presses, alerts), ``standards``, ``review`` (misuse review), ``params``, ``models``,
``context`` (what an endpoint reads from the app), ``setup`` (wiring), ``auth`` and ``tokens``
(bearer tokens, ``tokens_cli``)."""
