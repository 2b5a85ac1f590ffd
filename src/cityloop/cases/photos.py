"""Photo uploads: JPEG/PNG/WebP only, size-limited, content-addressed on disk, with a JPEG thumbnail."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from cityloop.config import Settings
from cityloop.shared.errors import Invalid, TooLarge, UnsupportedMedia

FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
MAX_PIXELS = 50_000_000


@dataclass(frozen=True)
class StoredPhoto:
    sha256: str
    content_type: str
    size_bytes: int
    width: int
    height: int


def check_count(settings: Settings, count: int) -> None:
    """At most settings.max_photos photos per upload."""
    if count > settings.max_photos:
        raise Invalid("too-many-photos", f"最多上传 {settings.max_photos} 张照片", f"At most {settings.max_photos} photos")


def inspect_photo(settings: Settings, data: bytes, filename: str = "") -> tuple[str, Image.Image]:
    """Validate one upload and return its format and decoded image."""
    if len(data) > settings.max_upload_bytes:
        raise TooLarge("photo-too-large", f"照片 {filename} 超过 {settings.max_upload_bytes // 1024 // 1024} MB",
                       f"Photo {filename} is larger than {settings.max_upload_bytes} bytes")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            if probe.width * probe.height > MAX_PIXELS:
                raise TooLarge("photo-too-many-pixels", "照片像素过多", "Photo has too many pixels")
            probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise UnsupportedMedia("not-an-image", f"文件 {filename} 不是有效的图片（仅支持 JPEG/PNG/WebP）",
                               f"{filename} is not a valid JPEG/PNG/WebP image") from exc
    if fmt not in FORMATS:
        raise UnsupportedMedia("image-format", f"不支持的图片格式 {fmt}（仅支持 JPEG/PNG/WebP）",
                               f"Unsupported image format {fmt}; use JPEG, PNG or WebP")
    return fmt, image


def photo_path(settings: Settings, sha: str, thumb: bool = False) -> Path:
    """Where a photo (or its thumbnail) lives under the media directory."""
    if thumb:
        return Path(settings.media_dir) / "thumbs" / sha[:2] / f"{sha}.jpg"
    return Path(settings.media_dir) / "photos" / sha[:2] / sha


def store_photo(settings: Settings, data: bytes, filename: str = "") -> StoredPhoto:
    """Validate, write (once per content) and thumbnail one photo."""
    fmt, image = inspect_photo(settings, data, filename)
    sha = hashlib.sha256(data).hexdigest()
    path = photo_path(settings, sha)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    thumb = photo_path(settings, sha, thumb=True)
    if not thumb.exists():
        thumb.parent.mkdir(parents=True, exist_ok=True)
        small = ImageOps.exif_transpose(image).convert("RGB")
        small.thumbnail((settings.thumb_size, settings.thumb_size))
        small.save(thumb, "JPEG", quality=80)
    return StoredPhoto(sha, FORMATS[fmt][0], len(data), image.width, image.height)
