"""Plumbing shared by every domain: storage locations, partitions, metadata."""
