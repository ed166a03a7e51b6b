"""The request side of the gateway: where it goes and what its JSON body holds (SPEC section 1)."""

from __future__ import annotations

import asyncio
import binascii
import io
import json
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Sequence
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from bot.domain import InputImage
from bot.http_clients import SPILL_AFTER

#: Bytes of an image encoded at a time (a multiple of 3, so the pieces join up).
BASE64_CHUNK = 3 * 256 * 1024
#: Bytes of a file body read and sent at a time.
SEND_PIECE = 1024 * 1024


def endpoint_url(base_url: str, endpoint: str = "chat/completions") -> str:
    """`{base}/v1/{endpoint}`, whatever slashes, `/v1` or full endpoint the base has."""
    parts = urlsplit(base_url.strip())
    path = "/".join(p for p in parts.path.split("/") if p)
    for suffix in ("v1/chat/completions", "v1"):
        if path == suffix or path.endswith("/" + suffix):
            path = path[: -len(suffix)].rstrip("/")
            break
    prefix = f"/{path}" if path else ""
    return f"{parts.scheme}://{parts.netloc}{prefix}/v1/{endpoint}"


def chat_completions_url(base_url: str) -> str:
    """`{base}/v1/chat/completions` (see `endpoint_url`)."""
    return endpoint_url(base_url)


class Body:
    """A request body: bytes, or for big inputs a temporary file sent a piece at a time.

    A file body is read with `os.pread` (no shared position), so each attempt of a retried
    call sends it whole from the start. `close()` when the call is over.
    """

    def __init__(self, data: bytes = b"", file: BinaryIO | None = None, size: int = 0) -> None:
        self._data = data
        self._file = file
        self.size = size if file is not None else len(data)

    def content(self) -> bytes | AsyncIterator[bytes]:
        """What one attempt sends: the bytes, or a fresh iterator over the file."""
        return self._data if self._file is None else self._pieces(self._file.fileno())

    async def _pieces(self, fd: int) -> AsyncIterator[bytes]:
        for offset in range(0, self.size, SEND_PIECE):
            yield await asyncio.to_thread(os.pread, fd, SEND_PIECE, offset)

    def close(self) -> None:
        """Let go of the file (the bytes go with the body)."""
        if self._file is not None:
            self._file.close()


def build_body(
    model: str,
    group: str,
    prompt: str,
    images: Sequence[InputImage],
    aspect_ratio: str | None,
) -> Body:
    """The JSON request body of SPEC section 1 (synchronous: base64 of big images).

    Base64 needs no JSON escaping, so each image's base64 is written straight into the body
    instead of going through a Python string, a piece at a time; past `SPILL_AFTER` bytes of
    images into a temporary file, which is sent from there: a 19 MB photo costs its
    pieces, not its 26 MB body in memory (`python -m bench --only input`).
    """
    slot = secrets.token_hex(16)  # stands for each data URL; unguessable, so never in a prompt
    content: str | list[dict[str, Any]]
    if images:
        content = [{"type": "text", "text": prompt}]
        content += [{"type": "image_url", "image_url": {"url": slot}} for _ in images]
    else:
        content = prompt
    body: dict[str, Any] = {
        "model": model,
        "group": group,
        "stream": False,
        "messages": [{"role": "user", "content": content}],
    }
    if aspect_ratio:
        body["extra_body"] = {"google": {"image_config": {"aspect_ratio": aspect_ratio}}}
    pieces = json.dumps(body, ensure_ascii=False).encode().split(f'"{slot}"'.encode())
    spill = sum(len(image.data) for image in images) > SPILL_AFTER
    out: BinaryIO = tempfile.TemporaryFile() if spill else io.BytesIO()  # noqa: SIM115 - Body closes it
    try:
        out.write(pieces[0])
        for image, piece in zip(images, pieces[1:], strict=True):
            out.write(f'"data:{image.mime};base64,'.encode())
            data = memoryview(image.data)
            out.writelines(
                binascii.b2a_base64(data[start : start + BASE64_CHUNK], newline=False)
                for start in range(0, len(data), BASE64_CHUNK)
            )
            out.write(b'"' + piece)
        if isinstance(out, io.BytesIO):
            return Body(out.getvalue())
        out.flush()
        return Body(file=out, size=out.tell())
    except BaseException:
        out.close()
        raise
