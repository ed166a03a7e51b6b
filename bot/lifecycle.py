"""Tracking running jobs so a stop can let them finish, within a grace period."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class JobTracker:
    """Knows which tasks are running a job; `drain()` waits for them, then cancels."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

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
        self._idle.clear()
        try:
            yield
        finally:
            self._running.discard(task)
            if not self._running:
                self._idle.set()

    async def drain(self, grace: float) -> int:
        """Wait up to `grace` seconds for running jobs, then cancel the rest; how many."""
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
            return 0
        except TimeoutError:
            pass
        tasks = list(self._running)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return len(tasks)
