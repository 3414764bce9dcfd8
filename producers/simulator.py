"""Load simulator: seeded city model and labelled press generator (work in progress, owned by the simulator helper)."""
