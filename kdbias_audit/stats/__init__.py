"""Statistics over small arrays and counts: paired sample-level tests and counts-based resampling."""
