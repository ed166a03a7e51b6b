"""A fake Telegram Bot API server for tests and benchmarks.

`FakeTelegram` is a real HTTP server (aiohttp, on a free port) that speaks the Bot API 10.0
closely enough for python-telegram-bot's own `Bot` / `Application` to run against it::

    async with FakeTelegram(token=TOKEN) as fake:
        bot = Bot(TOKEN, base_url=f"{fake.url}/bot", base_file_url=f"{fake.url}/file/bot")
        ann = fake.user(1, "Ann")
        fake.send_text(ann, fake.private_chat(ann), "/start")
        await fake.wait_for("sendMessage")

Tests play the users (``send_text``, ``send_photo``, ``press_button`` ...), the bot talks
HTTP, and every call is recorded as a `Call` to inspect or `wait_for`. Layers, each a module
building on the one before: `server` (HTTP, records, faults, outages, pacing) → `files` →
`world` (users, chats, messages) → `updates` (getUpdates, webhooks) → `forums` (topics,
upgraded groups) → `users` (the test side) → `sending` (the methods the bot calls) →
`payments` (Telegram Stars: invoices, pre-checkout, refunds, transactions; `pay`).

Faithful: transport and error bodies; Telegram's limits and error texts; long polling with
offsets, allowed_updates and 409 on a second poller; webhooks with the secret header; real
photo thumbnails; forum topics; group upgrades; flood control (`pace`); the 502 page of an
outage (`go_down`). Stricter than Telegram: every call is checked against the Bot API 10.0
(`botapi`); unknown or missing parameters, and any parse_mode (the bot sends plain text),
answer 400 and are recorded in `FakeTelegram.violations`. Only the methods the bot calls
exist; any other answers 404 like an unknown method. Simplified: the full-size photo keeps
the uploaded bytes; privacy mode is not simulated; documents get no thumbnail.
"""

from tests.fakes.telegram.files import StoredFile
from tests.fakes.telegram.payments import FakeTelegram, PaymentAttempt, SentInvoice
from tests.fakes.telegram.records import ApiError, Call, Hooks, JsonDict, UploadedFile
from tests.fakes.telegram.world import detect_entities, utf16_len

__all__ = [
    "ApiError",
    "Call",
    "FakeTelegram",
    "Hooks",
    "JsonDict",
    "PaymentAttempt",
    "SentInvoice",
    "StoredFile",
    "UploadedFile",
    "detect_entities",
    "utf16_len",
]
