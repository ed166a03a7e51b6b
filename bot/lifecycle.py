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
        try:
            yield
        finally:
            self._running.discard(task)

    def cancel(self) -> int:
        """Cancel every running job (each tells its user); how many there were."""
        for task in self._running:
            task.cancel()
        return len(self._running)
