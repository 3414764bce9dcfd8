"""Session-wide fixtures. The real broker and the real engine live in tests/fixtures/."""

pytest_plugins = ["tests.fixtures.kafka", "tests.fixtures.clickhouse"]
