"""Relationship intelligence: pair aggregates now; strength, coverage and paths build on them."""
