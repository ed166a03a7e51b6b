"""Files: uploads, photo sizes with a real thumbnail, file_ids, getFile and downloads."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import itertools
import mimetypes
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from telegram import Document, File, PhotoSize

from tests.fakes.telegram.records import (
    DOCUMENT_UPLOAD_LIMIT,
    GET_FILE_LIMIT,
    PHOTO_UPLOAD_LIMIT,
    WRONG_FILE,
    ApiError,
    Call,
    JsonDict,
    UploadedFile,
)
from tests.fakes.telegram.server import Server

THUMB_SIDE = 90
_ROTATED = frozenset({5, 6, 7, 8})  # EXIF orientations that swap width and height


@dataclass
class StoredFile:
    """A file the fake server knows, by file_id."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    kind: str  # "photo", "document" or "file" (added by a test, usable as anything)
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    photo: list[JsonDict] | None = None  # the PhotoSize list this photo size belongs to

    @property
    def file_size(self) -> int:
        return len(self.data)

    def identity(self) -> JsonDict:
        ids = self.file_id, self.file_unique_id
        return File(*ids, file_size=self.file_size, file_path=self.file_path).to_dict()

    def photo_size(self) -> JsonDict:
        ids = self.file_id, self.file_unique_id
        return PhotoSize(*ids, self.width, self.height, file_size=self.file_size).to_dict()

    def document(self) -> JsonDict:
        ids, size = (self.file_id, self.file_unique_id), self.file_size
        return Document(
            *ids, file_name=self.file_name, mime_type=self.mime_type, file_size=size
        ).to_dict()


@dataclass(frozen=True)
class _PhotoInfo:
    width: int
    height: int
    thumb: tuple[bytes, int, int] | None  # None when the photo is already thumbnail-sized


def _probe_photo(data: bytes) -> _PhotoInfo:
    """Dimensions and a <= 90 px JPEG thumbnail; ApiError(400) as Telegram would answer."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if img.getexif().get(0x0112) in _ROTATED:
                width, height = height, width
            if max(width, height) <= THUMB_SIDE:
                return _PhotoInfo(width, height, None)
            img.draft("RGB", (THUMB_SIDE, THUMB_SIDE))  # JPEG: decode at a reduced scale
            small = ImageOps.exif_transpose(img)
            small.thumbnail((THUMB_SIDE, THUMB_SIDE))
            if small.mode not in ("RGB", "L"):
                small = small.convert("RGBA").convert("RGB")
            out = io.BytesIO()
            small.save(out, "JPEG", quality=80)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED") from None
    return _PhotoInfo(width, height, (out.getvalue(), small.width, small.height))


def _check_dimensions(info: _PhotoInfo) -> None:
    short, long = sorted((info.width, info.height))
    if info.width + info.height > 10_000 or short == 0 or long / short > 20:
        raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")


class Files(Server):
    """Stored files by file_id and by path; photos probed once per content."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.downloads: list[str] = []
        #: Local mode (`--local` Bot API server): getFile writes the file here and answers
        #: its absolute path, with no 20 MB limit. None: files are served over HTTP.
        self.local_dir: Path | None = None
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._blobs: dict[bytes, bytes] = {}
        self._photo_cache: dict[bytes, _PhotoInfo] = {}
        self._ids = itertools.count(1)
        self._methods["getFile"] = self._get_file

    def add_file(
        self, data: bytes, *, file_name: str | None = None, mime_type: str | None = None
    ) -> JsonDict:
        """Store bytes as a file usable anywhere; answers its identity (with file_path)."""
        stored = self._store_file(data, kind="file", file_name=file_name, mime_type=mime_type)
        return stored.identity()

    def file_bytes(self, file_id: str) -> bytes:
        return self._files[file_id].data

    def _store_file(
        self,
        data: bytes,
        *,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int = 0,
        height: int = 0,
    ) -> StoredFile:
        digest = hashlib.sha256(data).digest()
        data = self._blobs.setdefault(digest, data)  # identical bytes share file_unique_id
        number = next(self._ids)
        prefix, unique = {"photo": ("AgAC", "AQAD"), "document": ("BQAC", "AgAD")}.get(
            kind, ("BAAC", "AwAD")
        )
        suffix = PurePosixPath(file_name).suffix if file_name else ""
        folder = "photos" if kind == "photo" else "documents"
        stored = StoredFile(
            file_id=f"{prefix}{number:06d}{base64.urlsafe_b64encode(digest[8:20]).decode()}",
            file_unique_id=unique + base64.urlsafe_b64encode(digest[:9]).decode(),
            data=data,
            file_path=f"{folder}/file_{number}{suffix or ('.jpg' if kind == 'photo' else '')}",
            kind=kind,
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _photo_info(self, data: bytes) -> _PhotoInfo:
        """Cached by content: benchmarks send the same image many times."""
        digest = hashlib.sha256(data).digest()
        info = self._photo_cache.get(digest) or _probe_photo(data)
        self._photo_cache[digest] = info
        return info

    def _store_photo(self, data: bytes, info: _PhotoInfo) -> list[JsonDict]:
        """Store a photo's sizes; answers the PhotoSize list (thumbnail first).

        Simplified: the full size keeps the uploaded bytes (Telegram re-encodes it as JPEG
        of at most 2560 px), so downloads compare equal to uploads.
        """
        stored = [self._store_file(data, kind="photo", width=info.width, height=info.height)]
        if info.thumb is not None:
            thumb, width, height = info.thumb
            stored.insert(0, self._store_file(thumb, kind="photo", width=width, height=height))
        sizes = [size.photo_size() for size in stored]
        for size in stored:
            size.photo = sizes
        return sizes

    def _user_photo(self, image: bytes) -> list[JsonDict]:
        try:
            return self._store_photo(image, self._photo_info(image))
        except ApiError as exc:
            raise ValueError(f"a user's photo must be an image Pillow can open: {exc}") from exc

    def _input_file(self, call: Call, field_name: str) -> UploadedFile | StoredFile:
        """The upload or the known file a field designates; 400 as Telegram otherwise."""
        upload = call.files.get(field_name)
        if upload is not None:
            return upload
        value = call.params.get(field_name)
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        raise ApiError(400, WRONG_FILE)

    async def _photo_sizes(self, source: UploadedFile | StoredFile) -> list[JsonDict]:
        if isinstance(source, StoredFile):
            if source.photo is not None:
                return source.photo
            if source.kind != "file":
                raise ApiError(400, "Bad Request: can't use file of type Document as Photo")
        if len(source.data) > PHOTO_UPLOAD_LIMIT:
            raise ApiError(413, "Request Entity Too Large")
        info = await asyncio.to_thread(self._photo_info, source.data)
        _check_dimensions(info)
        return self._store_photo(source.data, info)

    def _document(self, source: UploadedFile | StoredFile) -> JsonDict:
        if isinstance(source, StoredFile):
            if source.kind == "photo":
                raise ApiError(400, "Bad Request: can't use file of type Photo as Document")
            return source.document()
        if len(source.data) > DOCUMENT_UPLOAD_LIMIT:
            raise ApiError(413, "Request Entity Too Large")
        file_name = source.filename or "document"
        mime_type = source.content_type
        if not mime_type or mime_type == "application/octet-stream":
            mime_type = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        return self._store_file(
            source.data, kind="document", file_name=file_name, mime_type=mime_type
        ).document()

    async def _get_file(self, call: Call) -> JsonDict:
        stored = self._files.get(str(call.params.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if self.local_dir is not None:
            path = self.local_dir / stored.file_unique_id
            path.write_bytes(stored.data)
            return {**stored.identity(), "file_path": str(path.resolve())}
        if stored.file_size > GET_FILE_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        return stored.identity()

    def _download(self, file_path: str) -> tuple[bytes, str] | None:
        stored = self._files_by_path.get(file_path)
        if stored is None:
            return None
        self.downloads.append(stored.file_path)
        return stored.data, stored.mime_type or "application/octet-stream"
