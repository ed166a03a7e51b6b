"""Tracking running jobs, so a stop can cut off those that outlast the grace period."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class JobTracker:
    """Knows which tasks are running a job, so a stop past its grace period can end them."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[Any]] = set()
        self._closed = False

    @property
    def running(self) -> int:
        """How many jobs are running."""
        return len(self._running)

    @contextmanager
    def track(self) -> Iterator[None]:
        """Count the current task as running a job for the duration of the block."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("track() needs a running task")
        self._running.add(task)
        if self._closed:  # the grace period is over: end at the first await, farewell included
            task.cancel()
        try:
            yield
        finally:
            self._running.discard(task)

    def cancel(self) -> int:
        """Cancel every running job, and any started from now on; how many were running.

        Each cancelled job tells its user, and its request is recorded as failed.
        """
        self._closed = True
        for task in self._running:
            task.cancel()
        return len(self._running)
