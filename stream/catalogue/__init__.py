"""The catalogue in the stream: ``topic`` publishes a catalogue file to its compacted topic and
follows it back; ``index`` resolves a press against it at ``pressed_at`` (device, site,
department, question)."""
