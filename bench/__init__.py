"""Benchmarks of Ladder's big jobs against raw-SQL floors on PostgreSQL (`make bench`)."""
