"""Benchmarks and seeded test-data generators for asyncmig."""
