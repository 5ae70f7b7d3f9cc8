"""Assemble a signed .pkpass (a zip of pass.json, images, manifest.json and signature).

The per-program images never change, so their hashes, zip headers and central-directory
records are computed once in PassAssets and stored at the start of every archive, where their
offsets are constant. Per pass, only pass.json, manifest.json and signature are added.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import struct
import zlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from passes.apple.signing import PassSigner

RESERVED_NAMES = frozenset({"pass.json", "manifest.json", "signature"})
_ASSET_NAME = re.compile(r"(?:[A-Za-z0-9_-]+\.lproj/)?[A-Za-z0-9_@.-]+")

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_VERSION = 20  # 2.0: deflate, no zip64
_MADE_BY = (3 << 8) | _VERSION  # Unix, so external attributes carry file modes
_FILE_MODE = 0o100644 << 16
_STORED, _DEFLATED = 0, 8
_UTF8_NAMES = 0x800
_MAX_ENTRY = 0xFFFFFFFF


def _dos_stamp(moment: dt.datetime) -> tuple[int, int]:
    """Zip (time, date) fields; zip dates start in 1980."""
    year = max(moment.year, 1980)
    time = (moment.hour << 11) | (moment.minute << 5) | (moment.second // 2)
    date = ((year - 1980) << 9) | (moment.month << 5) | moment.day
    return time, date


def _zip_entry(
    name: str, data: bytes, *, deflate: bool, offset: int, stamp: tuple[int, int]
) -> tuple[bytes, bytes]:
    """(local header + body, central-directory record) for one file."""
    if len(data) >= _MAX_ENTRY or offset >= _MAX_ENTRY:
        raise ValueError(f"{name}: too large for a pass")
    raw_name = name.encode("utf-8")
    flags = 0 if raw_name.isascii() else _UTF8_NAMES
    crc = zlib.crc32(data)
    body, method = data, _STORED
    if deflate:
        # Raw deflate; memLevel 1 keeps set-up cheap for ~1 KB files at almost no size cost.
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15, 1)
        packed = compressor.compress(data) + compressor.flush()
        if len(packed) < len(data):
            body, method = packed, _DEFLATED
    time, date = stamp
    local = _LOCAL.pack(
        0x04034B50, _VERSION, flags, method, time, date, crc, len(body), len(data),
        len(raw_name), 0,
    )
    central = _CENTRAL.pack(
        0x02014B50, _MADE_BY, _VERSION, flags, method, time, date, crc, len(body), len(data),
        len(raw_name), 0, 0, 0, 0, _FILE_MODE, offset,
    )
    return local + raw_name + body, central + raw_name


class PassAssets:
    """A program's static files (icon, logo, strip, <lang>.lproj/pass.strings), prepared once."""

    __slots__ = ("_central", "_count", "_hashes", "_manifest_tail", "_prefix")

    def __init__(self, files: Mapping[str, bytes]) -> None:
        if "icon.png" not in files:
            raise ValueError("pass assets need icon.png")
        for name in files:
            if name in RESERVED_NAMES or not _ASSET_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid pass asset name")
        stamp = _dos_stamp(dt.datetime.now())
        hashes: dict[str, str] = {}
        prefix: list[bytes] = []
        central: list[bytes] = []
        offset = 0
        for name in sorted(files):
            data = bytes(files[name])
            hashes[name] = hashlib.sha1(data, usedforsecurity=False).hexdigest()
            # PNGs are already compressed; only text (pass.strings) is worth deflating.
            entry, record = _zip_entry(
                name, data, deflate=not name.endswith(".png"), offset=offset, stamp=stamp
            )
            prefix.append(entry)
            central.append(record)
            offset += len(entry)
        self._hashes = MappingProxyType(hashes)
        self._prefix = b"".join(prefix)
        self._central = b"".join(central)
        self._count = len(files)
        # manifest.json = {"pass.json": <sha1>, <asset>: <sha1>, ...}; the asset part is fixed.
        self._manifest_tail = json.dumps(hashes, separators=(",", ":"))[1:].encode("ascii")

    @classmethod
    def from_files(cls, files: Mapping[str, bytes]) -> PassAssets:
        """Validate names (icon.png required) and hash everything once."""
        return cls(files)

    @property
    def hashes(self) -> Mapping[str, str]:
        """SHA-1 hex digest of each asset, by file name."""
        return self._hashes

    def manifest(self, pass_json: bytes) -> bytes:
        """manifest.json bytes for a pass whose pass.json is pass_json."""
        digest = hashlib.sha1(pass_json, usedforsecurity=False).hexdigest()
        return b'{"pass.json":"' + digest.encode("ascii") + b'",' + self._manifest_tail

    def archive(self, pass_json: bytes, manifest: bytes, signature: bytes) -> bytes:
        """The zip: precomputed assets first, then the three per-pass files."""
        stamp = _dos_stamp(dt.datetime.now())
        parts = [self._prefix]
        records = [self._central]
        offset = len(self._prefix)
        # Stored, not deflated: deflating these ~1 KB files saves under 1 KB per pass but costs
        # about a tenth of the issuing throughput (zlib set-up on cold caches after signing).
        for name, data in (
            ("pass.json", pass_json),
            ("manifest.json", manifest),
            ("signature", signature),
        ):
            entry, record = _zip_entry(name, data, deflate=False, offset=offset, stamp=stamp)
            parts.append(entry)
            records.append(record)
            offset += len(entry)
        directory = b"".join(records)
        count = self._count + 3
        end = _END.pack(0x06054B50, 0, 0, count, count, len(directory), offset, 0)
        return b"".join(parts) + directory + end


def build_pkpass(pass_json: Mapping[str, Any], assets: PassAssets, signer: PassSigner) -> bytes:
    """Signed .pkpass bytes: manifest over every file, PKCS#7 signature over the manifest."""
    encoded = json.dumps(pass_json, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    manifest = assets.manifest(encoded)
    return assets.archive(encoded, manifest, signer.sign(manifest))
