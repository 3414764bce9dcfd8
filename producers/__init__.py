"""Producers of presses: the smiley terminal client, its durable buffer, the idempotent producer."""
