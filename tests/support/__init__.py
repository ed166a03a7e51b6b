"""Helpers shared by the tests and the benchmark: plain modules, never a `conftest.py`."""
