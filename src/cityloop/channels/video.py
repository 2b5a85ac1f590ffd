"""视频抓拍: captures from an external video-analytics system become cases; repeats of one camera's event note the
open case instead of opening more; low confidence is verified on site first. Cameras are registered with a place."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.cases import api as cases_api
from cityloop.cases.api import Case, screen, ActionIn, ReportIn, Ctx
from cityloop.channels import service
from cityloop.channels.domain import CLOSED_STAGES, is_repeat, video_needs_verification
from cityloop.channels.models import Camera, CameraEvent
from cityloop.channels.schemas import CameraIn, VideoEventIn, VideoEventOut
from cityloop.channels.service import Locate
from cityloop.geo.coords import to_wgs84
from cityloop.geo.queries import outside_error
from cityloop.shared.errors import Invalid


def snapshot_of(body: VideoEventIn, uploads: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    """The capture's image: an uploaded file or base64 in the body (one is required)."""
    if uploads:
        return uploads[0]
    if not body.snapshot_base64:
        raise Invalid("snapshot-required", "缺少抓拍图片（snapshot）", "The snapshot image is required")
    try:
        return "snapshot", base64.b64decode(body.snapshot_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Invalid("bad-snapshot", "snapshot_base64 不是有效的 Base64", "snapshot_base64 is not valid base64") from exc


def _camera(session: Session, code: str) -> Camera:
    camera = session.get(Camera, code)
    if camera is None or not camera.active:
        raise Invalid("unknown-camera", f"未登记或已停用的摄像头：{code}", f"Unknown or inactive camera {code}")
    return camera


def ingest(ctx: Ctx, body: VideoEventIn, image: tuple[str, bytes], locate: Locate) -> VideoEventOut:
    """Open a case for a capture, or note the camera's open case when the same event repeats within the window."""
    s = ctx.settings
    camera = _camera(ctx.reads, body.camera_id)
    category = s.video_event_categories.get(body.event_type)
    if category is None:
        raise Invalid("unknown-event-type", f"未配置的事件类型：{body.event_type}", f"Unmapped event type {body.event_type}",
                      known=sorted(s.video_event_categories))
    ctx.photos = [screen(s, image[1], image[0])]  # decoded when recorded; the router saves it after commit
    verify = video_needs_verification(body.confidence, s.video_min_confidence)
    key = f"video:{camera.code}:{body.event_id}" if body.event_id else None
    if body.event_id and (seen := ctx.reads.scalar(select(CameraEvent).where(
            CameraEvent.camera_code == camera.code, CameraEvent.event_id == body.event_id))):
        case = ctx.reads.get_one(Case, seen.case_id)  # the analytics system retried: answer as the first time
        return VideoEventOut(case_id=case.id, case_number=case.number, created=False, repeat=not seen.opened_case,
                             needs_verification=case.needs_verification)
    last = ctx.reads.scalar(select(CameraEvent).where(CameraEvent.camera_code == camera.code,
                                                        CameraEvent.event_type == body.event_type)
                              .order_by(CameraEvent.captured_at.desc()).limit(1))
    last_case = ctx.reads.get(Case, last.case_id) if last else None
    event = dict(camera_code=camera.code, event_type=body.event_type, event_id=body.event_id,
                 confidence=body.confidence, captured_at=body.captured_at, received_at=ctx.now)
    if last is not None and last_case is not None and is_repeat(last.captured_at, body.captured_at, s.video_repeat_minutes,
                               last_case.stage not in CLOSED_STAGES):
        note = f"同一摄像头再次抓拍：{camera.name}，置信度 {body.confidence:.2f}"
        cases_api.apply_in_transaction(ctx, last_case.id, "annotate", ActionIn(note=note),
                                     extra={"camera": camera.code, "event_type": body.event_type,
                                            "confidence": body.confidence, "repeat": True})
        ctx.session.add(CameraEvent(case_id=last_case.id, opened_case=False, **event))
        ctx.session.commit()
        return VideoEventOut(case_id=last_case.id, case_number=last_case.number, created=False, repeat=True,
                             needs_verification=last_case.needs_verification)
    description = body.description or f"视频抓拍：{camera.name}（{body.event_type}，置信度 {body.confidence:.2f}）"
    report = ReportIn(category_code=category, lon=camera.lon, lat=camera.lat, description=description,
                      address=camera.site or camera.name, source="video")
    case, created, _ = service.submit(
        ctx, report, locate, key, verify=verify,
        payload={"camera": camera.code, "event_type": body.event_type, "confidence": body.confidence},
        also=lambda session, c: session.add(CameraEvent(case_id=c.id, opened_case=True, **event)))
    return VideoEventOut(case_id=case.id, case_number=case.number, created=created, repeat=False,
                         needs_verification=case.needs_verification)


def register_cameras(session: Session, locate: Locate, items: Iterable[tuple[str, CameraIn]], now: datetime) -> int:
    """Add or update cameras (code, fields), all or none: one commit. Returns how many."""
    count = 0
    for code, body in items:
        _register(session, locate, code, body, now)
        count += 1
    session.commit()
    return count


def register_camera(session: Session, locate: Locate, code: str, body: CameraIn, now: datetime) -> Camera:
    """Add or update one camera (committed)."""
    camera = _register(session, locate, code, body, now)
    session.commit()
    return camera


def _register(session: Session, locate: Locate, code: str, body: CameraIn, now: datetime) -> Camera:
    """Add or update a camera; its place must lie in a unit grid."""
    lon, lat = to_wgs84(body.lon, body.lat, body.coord_sys)
    place = locate(lon, lat)
    if place is None:
        raise outside_error(locate)
    camera = session.get(Camera, code) or Camera(code=code, created_at=now)
    camera.name, camera.site, camera.lon, camera.lat, camera.active = body.name, body.site, lon, lat, body.active
    camera.grid_code, camera.duty_grid_code = place.grid_code, place.duty_grid_code
    session.add(camera)
    return camera
