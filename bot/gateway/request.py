"""The request side of the gateway: where it goes and what its JSON body holds (SPEC section 1)."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from bot.domain import InputImage


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
    instead of going through a Python string: one copy of each image, not four.
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
    out = bytearray(pieces[0])
    for image, piece in zip(images, pieces[1:], strict=True):
        out += f'"data:{image.mime};base64,'.encode()
        out += base64.b64encode(image.data)
        out += b'"' + piece
    return bytes(out)
