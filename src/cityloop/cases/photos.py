"""Photo uploads: JPEG/PNG/WebP only, size- and pixel-limited, content-addressed on disk, with a JPEG thumbnail.

Three steps, cheapest first, so a refused request costs little and leaves nothing behind:
screen() (size, format from the first bytes, hash; no Pillow) when the request is read, decode() (the header's
pixel count, then the pixels, in a small bounded pool) only when the use case is about to record the photo, and
save() only after the use case was accepted and committed."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from cityloop.config import Settings
from cityloop.shared.errors import AppError, Invalid, TooLarge, UnsupportedMedia

FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}


@dataclass
class Photo:
    """An accepted upload: its bytes and hash, and once decoded its size and thumbnail (nothing on disk yet)."""

    sha256: str
    content_type: str
    size_bytes: int
    data: bytes
    format: str
    filename: str = ""
    width: int = 0
    height: int = 0
    thumb: bytes | None = None


def check_count(settings: Settings, count: int) -> None:
    """At most settings.max_photos photos per upload."""
    if count > settings.max_photos:
        raise Invalid("too-many-photos", f"最多上传 {settings.max_photos} 张照片", f"At most {settings.max_photos} photos")


def sniff(data: bytes) -> str | None:
    """The format named by the file's signature (JPEG, PNG or WEBP), or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _not_an_image(filename: str) -> UnsupportedMedia:
    return UnsupportedMedia("not-an-image", f"文件 {filename} 不是有效的图片（仅支持 JPEG/PNG/WebP）",
                            f"{filename} is not a valid JPEG/PNG/WebP image")


def screen(settings: Settings, data: bytes, filename: str = "") -> Photo:
    """The checks that need no decoding: byte size (413) and the format from the signature (415)."""
    if len(data) > settings.max_upload_bytes:
        raise TooLarge("photo-too-large", f"照片 {filename} 超过 {settings.max_upload_bytes // 1024 // 1024} MB",
                       f"Photo {filename} is larger than {settings.max_upload_bytes} bytes")
    fmt = sniff(data)
    if fmt is None:
        raise _not_an_image(filename)
    return Photo(hashlib.sha256(data).hexdigest(), FORMATS[fmt][0], len(data), data, fmt, filename)


def screen_all(settings: Settings, uploads: list[tuple[str, bytes]]) -> list[Photo]:
    """Count and screen a request's uploads (name, bytes)."""
    check_count(settings, len(uploads))
    return [screen(settings, data, name) for name, data in uploads]


@lru_cache(maxsize=8)
def _pool(workers: int) -> threading.BoundedSemaphore:
    """How many decodes may run at once (one gate per configured size, made on first use)."""
    return threading.BoundedSemaphore(max(1, workers))


def _thumbnail(image: Image.Image, size: int) -> bytes:
    """Decode into a thumbnail (JPEG decodes at a reduced scale) and encode it as JPEG; the EXIF orientation is
    applied to the small image, and its re-encoding drops the original's EXIF (GPS, device)."""
    image.thumbnail((size, size))
    small = ImageOps.exif_transpose(image).convert("RGB")
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _decode_one(settings: Settings, photo: Photo) -> None:
    try:
        with Image.open(io.BytesIO(photo.data), formats=[photo.format]) as image:  # reads the header only
            width, height = image.size
            if width * height > settings.max_photo_pixels:
                raise TooLarge("photo-too-many-pixels",
                               f"照片 {photo.filename} 像素过多（{width}×{height}，上限 {settings.max_photo_pixels:,} 像素）",
                               f"Photo {photo.filename} has too many pixels ({width}×{height}; at most "
                               f"{settings.max_photo_pixels:,})", width=width, height=height)
            photo.thumb = _thumbnail(image, settings.thumb_size)
    except Image.DecompressionBombError as exc:  # Pillow's own guard, for headers far beyond any sane cap
        raise TooLarge("photo-too-many-pixels", f"照片 {photo.filename} 像素过多",
                       f"Photo {photo.filename} has too many pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _not_an_image(photo.filename) from exc
    photo.width, photo.height = width, height


@contextmanager
def decode_slot(settings: Settings) -> Iterator[None]:
    """Hold one of the process's settings.photo_decode_workers decoding slots (503 after waiting too long)."""
    gate = _pool(settings.photo_decode_workers)
    if not gate.acquire(timeout=settings.photo_decode_wait_seconds):
        raise AppError("photo-decoder-busy", "照片处理繁忙，请稍后重试", "Photo processing is busy; retry shortly",
                       status=503)
    try:
        yield
    finally:
        gate.release()


def decode(settings: Settings, photos: list[Photo]) -> None:
    """Check each photo's pixel count from its header (413) and decode it into its thumbnail (415 if it does not
    decode), each in a decoding slot; photos already decoded are skipped."""
    for photo in photos:
        if photo.thumb is None:
            with decode_slot(settings):
                _decode_one(settings, photo)


def photo_path(settings: Settings, sha: str, thumb: bool = False) -> Path:
    """Where a photo (or its thumbnail) lives under the media directory."""
    if thumb:
        return Path(settings.media_dir) / "thumbs" / sha[:2] / f"{sha}.jpg"
    return Path(settings.media_dir) / "photos" / sha[:2] / sha


def write_once(path: Path, data: bytes) -> None:
    """Write a content-addressed file unless it exists (atomically: a unique temporary file, then a rename)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(settings: Settings, photos: list[Photo]) -> None:
    """Write the photos a committed use case recorded (those decoded), each with its thumbnail."""
    for photo in photos:
        if photo.thumb is None:
            continue  # never recorded (e.g. a replayed Idempotency-Key): nothing to keep
        write_once(photo_path(settings, photo.sha256), photo.data)
        write_once(photo_path(settings, photo.sha256, thumb=True), photo.thumb)


def store_photo(settings: Settings, data: bytes, filename: str = "") -> Photo:
    """Screen, decode and write one photo at once (for callers whose use case is already accepted)."""
    photo = screen(settings, data, filename)
    decode(settings, [photo])
    save(settings, [photo])
    return photo
