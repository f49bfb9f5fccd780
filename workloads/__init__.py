"""Workload code the platform runs: the event model, producer, streaming job, storage."""
