"""Tiers by join order: founders 1–10, initiators 11–50, partners 51–199, closed at 199.

Pure: no web, no database.

A scheme is a list of bands in ascending order, each ending at ``upto`` (inclusive),
and an optional ``cap``. Band *i* covers join orders ``upto[i-1] + 1 .. upto[i]``; the
last band runs on to the cap, or forever without one, so its own ``upto`` may be left
out. Nobody whose join order is above the cap gets a tier.

Stored on the community as ``[{"name": ..., "upto": ...}, ...]`` with the last band's
``upto`` holding the cap (``null``: no cap), so one JSON column carries both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qunyun.errors import DomainError

MAX_BANDS = 20
MAX_NAME = 32
MAX_ORDER = 10_000_000


@dataclass(frozen=True, slots=True)
class Band:
    name: str
    upto: int | None = None


@dataclass(frozen=True, slots=True)
class TierScheme:
    bands: tuple[Band, ...] = ()
    cap: int | None = None

    def tier_of(self, join_order: int | None) -> str | None:
        """The tier of the member who joined ``join_order``-th, or None."""
        if join_order is None or join_order < 1 or not self.bands:
            return None
        if self.cap is not None and join_order > self.cap:
            return None
        for band in self.bands[:-1]:
            assert band.upto is not None
            if join_order <= band.upto:
                return band.name
        return self.bands[-1].name

    def range_of(self, name: str) -> tuple[int, int | None] | None:
        """The join orders ``(first, last)`` of tier ``name`` (last None: open)."""
        first = 1
        for index, band in enumerate(self.bands):
            last = self.cap if index == len(self.bands) - 1 else band.upto
            if band.name == name:
                return first, last
            first = (band.upto or 0) + 1
        return None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.bands)

    def to_json(self) -> list[dict[str, Any]] | None:
        if not self.bands:
            return None
        out: list[dict[str, Any]] = [{"name": b.name, "upto": b.upto} for b in self.bands[:-1]]
        out.append({"name": self.bands[-1].name, "upto": self.cap})
        return out


def validate(bands: Sequence[Band], cap: int | None) -> TierScheme:
    """Check ``bands`` and ``cap``; raise a DomainError naming the first problem."""
    if not bands:
        if cap is not None:
            raise DomainError("tier.cap_without_bands")
        return TierScheme()
    if len(bands) > MAX_BANDS:
        raise DomainError("tier.too_many", max=MAX_BANDS)
    cleaned: list[Band] = []
    seen: set[str] = set()
    previous = 0
    for index, band in enumerate(bands):
        name = band.name.strip()
        if not name or len(name) > MAX_NAME:
            raise DomainError("tier.invalid_name", max=MAX_NAME)
        if name in seen:
            raise DomainError("tier.duplicate_name", name=name)
        seen.add(name)
        last = index == len(bands) - 1
        if band.upto is None and not last:
            raise DomainError("tier.upto_required", name=name)
        if band.upto is not None:
            if not 1 <= band.upto <= MAX_ORDER:
                raise DomainError("tier.upto_range", name=name, max=MAX_ORDER)
            if band.upto <= previous:
                raise DomainError("tier.not_ascending", name=name)
            previous = band.upto
        cleaned.append(Band(name, band.upto))
    if cap is not None:
        if not 1 <= cap <= MAX_ORDER:
            raise DomainError("tier.cap_range", max=MAX_ORDER)
        if cap < previous or (bands[-1].upto is None and cap <= previous):
            raise DomainError("tier.cap_below_band", cap=cap, upto=previous)
    elif bands[-1].upto is not None:
        # A last band with an end and no cap: the end is the cap.
        cap = bands[-1].upto
    # The last band ends at the cap: keep one copy of that number.
    cleaned[-1] = Band(cleaned[-1].name)
    return TierScheme(tuple(cleaned), cap)


def from_json(raw: Any) -> TierScheme:
    """Read the stored form back; anything malformed reads as "no tiers"."""
    if not isinstance(raw, list) or not raw:
        return TierScheme()
    bands: list[Band] = []
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            return TierScheme()
        upto = entry.get("upto")
        if upto is not None and (not isinstance(upto, int) or isinstance(upto, bool)):
            return TierScheme()
        bands.append(Band(entry["name"], upto))
    cap = bands[-1].upto
    bands[-1] = Band(bands[-1].name)
    try:
        return validate(bands, cap)
    except DomainError:
        return TierScheme()


def parse_spec(spec: str) -> tuple[list[Band], int | None]:
    """``"founder:10,initiator:50,partner"`` plus an optional ``"@199"`` cap suffix.

    For the command line and the settings form: ``name:upto`` pairs separated by
    commas (or new lines), the last band's ``upto`` optional.
    """
    text = spec.strip()
    cap: int | None = None
    if "@" in text:
        text, _, cap_text = text.rpartition("@")
        try:
            cap = int(cap_text.strip())
        except ValueError:
            raise DomainError("tier.bad_spec") from None
    bands: list[Band] = []
    for piece in text.replace("\n", ",").replace("，", ",").split(","):
        piece = piece.strip()
        if not piece:
            continue
        name, sep, upto_text = piece.replace("：", ":").partition(":")
        upto: int | None = None
        if sep:
            try:
                upto = int(upto_text.strip())
            except ValueError:
                raise DomainError("tier.bad_spec") from None
        bands.append(Band(name.strip(), upto))
    return bands, cap


def format_spec(scheme: TierScheme) -> str:
    """The inverse of :func:`parse_spec` for a validated scheme."""
    parts = [f"{b.name}:{b.upto}" for b in scheme.bands[:-1]]
    if scheme.bands:
        parts.append(scheme.bands[-1].name)
    text = ",".join(parts)
    return f"{text}@{scheme.cap}" if scheme.cap is not None else text
