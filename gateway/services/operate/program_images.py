"""Pass images of a program (logo, icon, strip): checked, scaled to Apple's @1x/@2x/@3x, stored.

An upload is checked by its content with Pillow (never by file name or content type): PNG only,
at most MAX_UPLOAD_BYTES, at most MAX_PIXELS (decompression bombs are refused before decoding),
at least the @3x size Apple wants and an aspect ratio close to the slot's. Every failure is a
field error and nothing is stored; a good set replaces the program's images, is audited and
starts a refresh of every issued pass.
"""

from __future__ import annotations

import hashlib
import io
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gateway.models.pass_refresh import PassRefresh
from gateway.models.program import Program, ProgramImage
from gateway.services.operate.audit_trail import record_change
from gateway.services.operate.field_errors import Collector
from gateway.services.operate.pass_refresh import start_refresh

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
# Far above any pass image (a strip at @3x is 1125 x 369) and far below what hurts memory.
MAX_PIXELS = 10_000_000
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SCALES = ((1, ""), (2, "@2x"), (3, "@3x"))


@dataclass(frozen=True, slots=True)
class ImageSlot:
    """Where an image goes on an Apple store card, in points at @1x.

    `crop`: the image fills the slot exactly (center-cropped to its aspect); otherwise it is
    scaled to fit inside it, keeping its own aspect (Apple shows logos "up to" 160 x 50 pt).
    """

    kind: str
    title: str
    width: int
    height: int
    min_ratio: float
    max_ratio: float
    crop: bool

    def fitted(self, ratio: float, scale: int) -> tuple[int, int]:
        """Pixel size at `scale` of an image with aspect `ratio` (width / height)."""
        box_w, box_h = self.width * scale, self.height * scale
        if self.crop:
            return box_w, box_h
        if ratio >= box_w / box_h:
            return box_w, max(1, round(box_w / ratio))
        return max(1, round(box_h * ratio)), box_h

    @property
    def advice(self) -> str:
        """What to upload, for operators."""
        wide, high = self.fitted(self.width / self.height, 3)
        if self.crop:
            return f"a PNG of at least {wide} x {high} pixels"
        return f"a PNG at least {high} pixels high (up to {wide} x {high} is shown)"


SLOTS: dict[str, ImageSlot] = {
    "logo": ImageSlot("logo", "Logo", 160, 50, 0.8, 5.0, crop=False),
    "icon": ImageSlot("icon", "Icon", 29, 29, 0.9, 1.1, crop=True),
    # Store cards: 375 x 123 pt (Apple: strip images of passes other than event tickets).
    "strip": ImageSlot("strip", "Strip", 375, 123, 2.4, 3.8, crop=True),
}


def _declared_pixels(data: bytes) -> int | None:
    """Width x height from the PNG header (IHDR comes first), or None when it is not a PNG."""
    if len(data) < 24 or data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width) * int(height)


def _open_png(data: bytes) -> Image.Image | str:
    """The decoded image, or the reason (for operators) it cannot be used."""
    pixels = _declared_pixels(data)
    if pixels is None:
        return "This file is not a PNG image. Upload a PNG file."
    # Checked before Pillow decodes anything (and far below Image.MAX_IMAGE_PIXELS, so Pillow's
    # own decompression-bomb warning never fires): a few KB can declare gigapixels.
    if pixels > MAX_PIXELS:
        return "This image has far too many pixels. Upload a smaller PNG."
    try:
        image = Image.open(io.BytesIO(data), formats=["PNG"])
        image.load()
    except Image.DecompressionBombError:
        return "This image has far too many pixels. Upload a smaller PNG."
    except UnidentifiedImageError:
        return "This file is not a PNG image. Upload a PNG file."
    except (OSError, SyntaxError, ValueError, EOFError):
        return "This PNG file is damaged or incomplete. Export it again and upload it."
    return image


def _encode(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _center_crop(image: Image.Image, ratio: float) -> Image.Image:
    width, height = image.size
    if width / height > ratio:
        new_width = round(height * ratio)
        left = (width - new_width) // 2
        return image.crop((left, 0, left + new_width, height))
    new_height = round(width / ratio)
    top = (height - new_height) // 2
    return image.crop((0, top, width, top + new_height))


def scaled_images(slot: ImageSlot, data: bytes) -> dict[str, bytes] | str:
    """`<kind>.png`, `<kind>@2x.png`, `<kind>@3x.png`, or the reason the upload is refused."""
    if len(data) > MAX_UPLOAD_BYTES:
        limit = MAX_UPLOAD_BYTES // (1024 * 1024)
        return f"This file is larger than {limit} MB. Upload a smaller PNG."
    if not data:
        return "This file is empty. Upload a PNG file."
    opened = _open_png(data)
    if isinstance(opened, str):
        return opened
    image = opened.convert("RGBA")
    ratio = image.width / image.height
    if not slot.min_ratio <= ratio <= slot.max_ratio:
        return (
            f"This image is {image.width} x {image.height} pixels: the wrong shape for the "
            f"{slot.title.lower()}. Upload {slot.advice}."
        )
    if slot.crop:
        image = _center_crop(image, slot.width / slot.height)
        ratio = slot.width / slot.height
    need_w, need_h = slot.fitted(ratio, 3)
    if image.width < need_w or image.height < need_h:
        return (
            f"This image is {opened.width} x {opened.height} pixels: too small for the "
            f"{slot.title.lower()}. Upload {slot.advice}."
        )
    return {
        f"{slot.kind}{suffix}.png": _encode(
            image.resize(slot.fitted(ratio, scale), Image.Resampling.LANCZOS)
        )
        for scale, suffix in SCALES
    }


def _fingerprints(session: Session, program: Program, names: list[str]) -> dict[str, str]:
    rows = session.execute(
        select(ProgramImage.name, ProgramImage.content).where(
            ProgramImage.program_id == program.id, ProgramImage.name.in_(names)
        )
    )
    return {name: hashlib.sha256(content).hexdigest()[:16] for name, content in rows}


def replace_images(
    session: Session, program: Program, uploads: Mapping[str, bytes], actor: str
) -> PassRefresh:
    """Check every upload (`{"logo": bytes, ...}`), then replace those images and refresh every
    issued pass; any bad file is a FieldErrors (422) naming it and nothing is stored. Commits."""
    errors = Collector()
    prepared: dict[str, bytes] = {}
    for kind, data in uploads.items():
        slot = SLOTS.get(kind)
        if slot is None:
            errors.add(kind, "Unknown image; use logo, icon or strip.")
            continue
        result = scaled_images(slot, data)
        if isinstance(result, str):
            errors.add(kind, result)
        else:
            prepared.update(result)
    if not uploads:
        errors.add("logo", "Choose at least one PNG file to upload.")
    errors.raise_if_any()
    names = sorted(prepared)
    before = _fingerprints(session, program, names)
    session.execute(
        delete(ProgramImage).where(
            ProgramImage.program_id == program.id, ProgramImage.name.in_(names)
        )
    )
    session.add_all(
        ProgramImage(program_id=program.id, name=name, content=content)
        for name, content in prepared.items()
    )
    after = {name: hashlib.sha256(prepared[name]).hexdigest()[:16] for name in names}
    record_change(
        session,
        actor,
        "program.images_replaced",
        f"program:{program.slug}",
        before=before,
        after=after,
        images=sorted(uploads),
    )
    refresh = start_refresh(session, program, actor, f"new {', '.join(sorted(uploads))} image")
    session.commit()
    session.expire(program, ["images"])
    return refresh


def image_versions(session: Session, program: Program) -> dict[str, int]:
    """Each stored image name with its row id (a new upload gets a new id: cache busting)."""
    rows = session.execute(
        select(ProgramImage.name, ProgramImage.id).where(ProgramImage.program_id == program.id)
    )
    return {name: image_id for name, image_id in rows}


def image_content(session: Session, program: Program, name: str) -> bytes | None:
    """The bytes of one stored image, or None."""
    return session.scalar(
        select(ProgramImage.content).where(
            ProgramImage.program_id == program.id, ProgramImage.name == name
        )
    )
