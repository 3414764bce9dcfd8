"""Anti-spam: ``rules`` (TOML, per channel and site), ``decide`` (the seven checks, pure),
``device_state`` (one device's memory in bounded parts), ``judge`` (raw bytes -> verdict, shared
with replay), ``processor`` (the Faust stage over presses.raw)."""
