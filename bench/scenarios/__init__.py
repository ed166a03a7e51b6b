"""One module per group of rows; each exposes `async def run(quick: bool) -> list[Figure]`.

`latency` (added latency), `bench.concurrency` (concurrency, also a standalone command),
`hd` (HD memory and responsiveness), `startup`, `album`, and `webhook` (a placeholder for
the webhook-mode latency row, to be written when the bot gains webhook mode).
"""
