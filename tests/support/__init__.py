"""Test helpers shared by the suites (schema validation, real server processes)."""
