"""The request side of the gateway: where it goes and what its JSON body holds (SPEC section 1)."""

from __future__ import annotations

import binascii
import io
import json
import secrets
import tempfile
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from bot.domain import InputImage
from bot.http_clients import SPILL_AFTER

#: Bytes of an image encoded at a time (a multiple of 3, so the pieces join up).
BASE64_CHUNK = 3 * 256 * 1024


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


def build_body(
    model: str,
    group: str,
    prompt: str,
    images: Sequence[InputImage],
    aspect_ratio: str | None,
) -> bytes:
    """The JSON request body of SPEC section 1 (synchronous: base64 of big images).

    Base64 needs no JSON escaping, so each image's base64 is written straight into the body
    instead of going through a Python string, a piece at a time; with big images into a
    temporary file, read back in one piece: the body exists once, its pieces never all at
    once (a 20 MB photo costs its 27 MB body, not three times that).
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
    size = sum(len(image.data) for image in images)
    spill = size > SPILL_AFTER
    with tempfile.TemporaryFile() if spill else io.BytesIO() as out:
        out.write(pieces[0])
        for image, piece in zip(images, pieces[1:], strict=True):
            out.write(f'"data:{image.mime};base64,'.encode())
            data = memoryview(image.data)
            out.writelines(
                binascii.b2a_base64(data[start : start + BASE64_CHUNK], newline=False)
                for start in range(0, len(data), BASE64_CHUNK)
            )
            out.write(b'"' + piece)
        out.seek(0)
        return out.read()
