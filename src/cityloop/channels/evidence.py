"""Photo evidence: each new case photo's EXIF time and position are compared with its case, and its perceptual hash
with every earlier photo, so a photo taken elsewhere, long ago, or already used on another case is flagged for the
operator (flagged, never rejected). Runs as a server task and on demand for one case."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import imagehash
import numpy as np
from PIL import ExifTags, Image, ImageStat, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityloop.cases.api import Case, CasePhoto, FORMATS, decode_slot, photo_path
from cityloop.channels.domain import evidence_flags
from cityloop.channels.models import PhotoEvidence
from cityloop.config import Settings

log = logging.getLogger("cityloop.evidence")
BATCH = 200


def _rational(value: Any) -> float:  # an EXIF rational: a (numerator, denominator) pair or a number
    return float(value[0]) / float(value[1]) if isinstance(value, tuple) else float(value)


def _degrees(dms: Sequence[Any], ref: str | None) -> float:
    d, m, s = (_rational(v) for v in dms)
    value = d + m / 60 + s / 3600
    return -value if ref in ("S", "W") else value


def _exif_time(text: str | None, offset: str | None, tz: str) -> datetime | None:
    if not text:
        return None
    try:
        naive = datetime.strptime(str(text).strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if offset:
        try:
            sign = -1 if str(offset).startswith("-") else 1
            hours, minutes = (int(v) for v in str(offset).strip("+-\x00 ").split(":"))
            return naive.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))
        except ValueError:
            pass
    return naive.replace(tzinfo=ZoneInfo(tz))  # cameras write local time without a zone


FEATURELESS = 2.0  # grey-level spread below which a picture (a covered lens, a blank wall) says nothing


def read_photo(path: Path, tz: str) -> tuple[datetime | None, tuple[float, float] | None, str | None]:
    """EXIF capture time (aware), EXIF GPS (lon, lat) and the 64-bit perceptual hash (hex) of one image file; no
    hash for a featureless picture, whose hash would match every other featureless one."""
    with Image.open(path, formats=list(FORMATS)) as image:  # stored photos passed the upload checks; still only these
        exif = image.getexif()
        details = exif.get_ifd(ExifTags.IFD.Exif)
        taken = _exif_time(details.get(36867) or exif.get(306), details.get(36881), tz)
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        point = None
        try:
            if 2 in gps and 4 in gps:
                point = (_degrees(gps[4], gps.get(3)), _degrees(gps[2], gps.get(1)))
        except (TypeError, ValueError, ZeroDivisionError, IndexError):
            point = None
        if ImageStat.Stat(image.convert("L")).stddev[0] < FEATURELESS:
            return taken, point, None
        return taken, point, str(imagehash.phash(image))


def _known(session: Session) -> tuple[np.ndarray, list[tuple[int, int, int, str]]]:
    """Every stored hash as uint64, with (case id, photo id, event seq, case number)."""
    rows = [(h, case_id, photo_id, seq, number) for h, case_id, photo_id, seq, number in session.execute(
        select(PhotoEvidence.phash, PhotoEvidence.case_id, PhotoEvidence.photo_id, CasePhoto.event_seq, Case.number)
        .join(CasePhoto, CasePhoto.id == PhotoEvidence.photo_id)
        .join(Case, Case.id == PhotoEvidence.case_id)
        .where(PhotoEvidence.phash.is_not(None))) if h is not None]
    hashes = np.array([int(r[0], 16) for r in rows], dtype=np.uint64)
    return hashes, [(r[1], r[2], r[3], r[4]) for r in rows]


def _similar(hashes: np.ndarray, meta: list[tuple[int, int, int, str]], phash: str, bits: int
             ) -> list[tuple[int, int, int, str, int]]:
    if not len(hashes):
        return []
    distance = np.bitwise_count(hashes ^ np.uint64(int(phash, 16)))
    return [(*meta[i], int(distance[i])) for i in np.flatnonzero(distance <= bits)]


def examine(session: Session, settings: Settings, now: datetime, case_ids: list[int] | None = None) -> int:
    """Check photos not checked yet (of some cases, or the oldest BATCH of all) and commit; returns how many."""
    stmt = (select(CasePhoto).outerjoin(PhotoEvidence, PhotoEvidence.photo_id == CasePhoto.id)
            .where(PhotoEvidence.photo_id.is_(None)).order_by(CasePhoto.id).limit(BATCH))
    if case_ids is not None:
        stmt = stmt.where(CasePhoto.case_id.in_(case_ids))
    photos = list(session.scalars(stmt))
    if not photos:
        return 0
    hashes, meta = _known(session)
    for photo in photos:
        case = session.get_one(Case, photo.case_id)
        try:
            with decode_slot(settings):  # shares the upload decoders' bound on concurrent decodes
                taken, point, phash = read_photo(photo_path(settings, photo.sha256), settings.timezone)
        except (OSError, UnidentifiedImageError, ValueError):
            session.add(PhotoEvidence(photo_id=photo.id, case_id=case.id, flags=["file-unreadable"], matches=[],
                                      checked_at=now))
            continue
        flags, distance, gap = evidence_flags(taken, point, photo.created_at, (case.lon, case.lat),
                                              settings.evidence_max_distance_m, settings.evidence_max_age_hours)
        matches: list[dict[str, Any]] = []
        similar = _similar(hashes, meta, phash, settings.evidence_phash_bits) if phash else []
        for other_case, other_photo, seq, number, bits in similar:
            if other_case != case.id:
                matches.append({"case_id": other_case, "case_number": number, "photo_id": other_photo, "bits": bits})
                flags.append("reused-photo")
            elif seq != photo.event_seq:
                matches.append({"case_id": other_case, "case_number": number, "photo_id": other_photo, "bits": bits})
                flags.append("repeats-earlier-photo")
        session.add(PhotoEvidence(photo_id=photo.id, case_id=case.id, exif_time=taken,
                                  exif_lon=point[0] if point else None, exif_lat=point[1] if point else None,
                                  distance_m=round(distance, 1) if distance is not None else None,
                                  gap_minutes=round(gap, 1) if gap is not None else None, phash=phash,
                                  flags=list(dict.fromkeys(flags)), matches=matches, checked_at=now))
        if phash:
            hashes = np.append(hashes, np.uint64(int(phash, 16)))
            meta.append((case.id, photo.id, photo.event_seq, case.number))
    try:
        session.commit()
    except IntegrityError:  # another worker checked the same photos meanwhile
        session.rollback()
        return 0
    return len(photos)
