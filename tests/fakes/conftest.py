"""Fixtures of the fakes' own tests: a fake Bot API server and PTB's `Bot` pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from tests.fakes.telegram import FakeTelegram
from tests.support.bot import FAKE_TOKEN


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=FAKE_TOKEN) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    base = fake.url
    async with Bot(FAKE_TOKEN, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot") as b:
        yield b
