"""stage package."""
