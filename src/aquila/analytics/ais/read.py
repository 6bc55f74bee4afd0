"""AIS readers: raw NMEA 0183 (decoded by `pyais`), MarineCadastre-style CSV, and JSON lines.

NMEA: one sentence per line (`!AIVDM`/`!AIVDO`, or `$`-led), optionally behind an NMEA 4.10 tag
block (`\\c:1672531200*hh\\!AIVDM,...`: `c` is the receive time in Unix seconds, or ms when > 1e11) or
a leading timestamp token (`2023-01-01T00:00:00Z !AIVDM,...` or `1672531200.5 !AIVDM,...`). Multi-
sentence messages are assembled by (channel, sequence id); sentences that fail their checksum are
counted and skipped; fragments that never complete are counted. Untimed sentences take `received`
(the time the file was captured) when given, else they are counted and left out: a position
without a time cannot be placed against an image.

CSV (MarineCadastre, https://marinecadastre.gov/ais/): `MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,
VesselName,IMO,CallSign,VesselType,Status,Length,Width,...` (times in UTC).

JSON lines: one object per line, `{"mmsi": 235070716, "time": "2023-01-01T00:00:00Z", "lat": 36.91,
"lon": 20.76}` with optional `sog_kn`, `cog_deg`, `heading_deg`, `name`, `ship_type`, `length_m`,
`width_m`. `read_ais` tells the three apart by their content.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from aquila.analytics.ais.model import AisData, ReadStats, Vessel
from aquila.errors import InputError
from aquila.times import UNIX_EPOCH, iso_z, parse_instant

__all__ = ["read_ais", "read_nmea", "read_marinecadastre_csv", "read_jsonl", "write_jsonl", "FORMATS"]

FORMATS = ("nmea", "csv", "jsonl")
_POSITION_TYPES = {1, 2, 3, 18, 19, 27}
_STATIC_TYPES = {5, 19, 24}
_LEADING = re.compile(rb"^\s*([0-9][0-9T:\-+.Z ]*?)[\s,;]+(?=[!$\\])")
_MAX_PENDING = 10_000  # fragments waiting for their siblings (a capture of only first parts stays bounded)


def _valid_position(lat: Any, lon: Any) -> bool:
    return (isinstance(lat, (int, float)) and isinstance(lon, (int, float)) and math.isfinite(lat)
            and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180 and not (lat == 91 or lon == 181))


def _speed(x: Any) -> float:
    return float(x) if isinstance(x, (int, float)) and 0 <= x < 102.25 else math.nan


def _angle(x: Any, unavailable: float) -> float:
    return float(x) % 360.0 if isinstance(x, (int, float)) and 0 <= x < unavailable else math.nan


def _leading_time(token: bytes) -> float | None:
    text = token.decode("ascii", "replace").strip()
    try:
        value = float(text)
        return value / 1000.0 if value > 1e11 else value
    except ValueError:
        pass
    try:
        return (parse_instant(text, "time") - UNIX_EPOCH).total_seconds()
    except InputError:
        return None


def _tag_block(line: bytes) -> tuple[bytes, float | None, bool]:
    """(the sentence, the tag block's receive time `c:` if any, whether the tag block's checksum holds)."""
    end = line.find(b"\\", 1)
    if end < 0:
        return line, None, False
    block, sentence = line[1:end], line[end + 1:]
    body, _, check = block.partition(b"*")
    ok = True
    if check:
        x = 0
        for ch in body:
            x ^= ch
        ok = check.strip().upper() == f"{x:02X}".encode()
    t = None
    for item in body.split(b","):
        key, _, value = item.partition(b":")
        if key == b"c":
            try:
                t = float(value)
                t = t / 1000.0 if t > 1e11 else t
            except ValueError:
                t = None
    return sentence, t, ok


class _Columns:
    def __init__(self) -> None:
        self.rows: list[tuple[int, float, float, float, float, float, float]] = []
        self.vessels: dict[int, Vessel] = {}

    def add_static(self, mmsi: int, **facts: Any) -> None:
        old = self.vessels.get(mmsi) or Vessel(mmsi)
        merged = {k: (v if v not in (None, "", 0) else getattr(old, k)) for k, v in facts.items()}
        self.vessels[mmsi] = Vessel(mmsi, **{**{k: getattr(old, k) for k in
                                                ("name", "ship_type", "length_m", "width_m", "callsign", "imo")},
                                             **merged})

    def data(self, stats: ReadStats) -> AisData:
        arr = np.array(self.rows, dtype=np.float64).reshape(-1, 7)
        return AisData.from_columns(arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4],
                                    arr[:, 5], arr[:, 6], vessels=self.vessels, stats=stats)


def _dims(d: dict[str, Any]) -> tuple[float | None, float | None]:
    length = (d.get("to_bow") or 0) + (d.get("to_stern") or 0)
    width = (d.get("to_port") or 0) + (d.get("to_starboard") or 0)
    return (float(length) if length > 0 else None), (float(width) if width > 0 else None)


def _text(x: Any) -> str:
    return str(x).replace("@", " ").strip() if isinstance(x, str) else ""


def read_nmea(lines: Iterable[bytes | str], received: datetime | None = None, source: str = "<nmea>") -> AisData:
    """Decode NMEA sentences (see the module docstring for the accepted line forms); what cannot be used is
    counted in `stats`, never raised."""
    from pyais.exceptions import InvalidNMEAMessageException, MissingPayloadException
    from pyais.messages import NMEAMessage

    stats = ReadStats()
    out = _Columns()
    base = None if received is None else (received - UNIX_EPOCH).total_seconds()
    pending: dict[tuple[Any, Any], list[Any]] = {}
    for raw in lines:
        line = raw.encode("latin-1", "replace") if isinstance(raw, str) else raw
        line = line.strip()
        if not line:
            continue
        stats.lines += 1
        t: float | None = None
        lead = _LEADING.match(line)
        if lead:
            t = _leading_time(lead.group(1))
            line = line[lead.end():]
        if line.startswith(b"\\"):
            line, tag_t, tag_ok = _tag_block(line)
            if not tag_ok:
                stats.bad_checksum += 1
                continue
            t = tag_t if t is None else t
        try:
            msg = NMEAMessage(line)
        except (InvalidNMEAMessageException, ValueError, IndexError, TypeError):
            stats.malformed += 1
            continue
        if not msg.is_valid:
            stats.bad_checksum += 1
            continue
        if msg.is_multi:
            key = (msg.channel, msg.seq_id)
            parts = pending.get(key, [])
            if msg.frag_num == 1 and parts:  # a new message reusing the id: the old one never completed
                stats.incomplete_multipart += 1
                parts = []
            if not parts and msg.frag_num != 1:
                stats.incomplete_multipart += 1
                continue
            parts.append((msg, t))
            pending[key] = parts
            if len(pending) > _MAX_PENDING:
                pending.pop(next(iter(pending)))
                stats.incomplete_multipart += 1
            if msg.frag_num < msg.frag_cnt:
                continue
            del pending[key]
            if [p.frag_num for p, _ in parts] != list(range(1, msg.frag_cnt + 1)):
                stats.incomplete_multipart += 1
                continue
            t = next((pt for _, pt in parts if pt is not None), None)
            try:
                msg = NMEAMessage.assemble_from_iterable([p for p, _ in parts])
            except (InvalidNMEAMessageException, ValueError):
                stats.malformed += 1
                continue
        try:
            d: dict[str, Any] = msg.decode().asdict()
        except MissingPayloadException:
            stats.empty_payload += 1
            continue
        except Exception:  # pyais raises many kinds on a corrupt payload; one bad message never stops a file
            stats.malformed += 1
            continue
        stats.messages += 1
        kind = d.get("msg_type")
        mmsi = d.get("mmsi")
        if not isinstance(mmsi, int):
            stats.malformed += 1
            continue
        if kind in _STATIC_TYPES:
            length, width = _dims(d)
            ship = d.get("ship_type")
            out.add_static(mmsi, name=_text(d.get("shipname")), ship_type=int(ship) if ship else None,
                           length_m=length, width_m=width, callsign=_text(d.get("callsign")),
                           imo=int(d["imo"]) if isinstance(d.get("imo"), int) and d["imo"] > 0 else None)
        if kind not in _POSITION_TYPES:
            if kind not in _STATIC_TYPES:
                stats.other_types += 1
            continue
        lat, lon = d.get("lat"), d.get("lon")
        if not _valid_position(lat, lon):
            stats.no_position += 1
            continue
        when = t if t is not None else base
        if when is None:
            stats.untimed += 1
            continue
        out.rows.append((mmsi, when, float(lat), float(lon), _speed(d.get("speed")),  # type: ignore[arg-type]
                         _angle(d.get("course"), 360.0), _angle(d.get("heading"), 360.0)))
    stats.incomplete_multipart += len(pending)
    return out.data(stats)


def _float(x: str | None) -> float:
    try:
        return float(x) if x not in (None, "") else math.nan
    except ValueError:
        return math.nan


def read_marinecadastre_csv(text: str, source: str = "<csv>") -> AisData:
    """MarineCadastre-style CSV (header row naming at least MMSI, BaseDateTime, LAT, LON)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    need = {"MMSI", "BaseDateTime", "LAT", "LON"}
    header = {h.strip() for h in (reader.fieldnames or [])}
    if not need <= header:
        raise InputError(f"header lacks {', '.join(sorted(need - header))}", source=source, line=1,
                         expected="MarineCadastre columns MMSI,BaseDateTime,LAT,LON[,SOG,COG,Heading,VesselName,...]")
    stats = ReadStats()
    out = _Columns()
    for row in reader:
        stats.lines += 1
        try:
            mmsi = int(row["MMSI"])
            when = (parse_instant(row["BaseDateTime"], "BaseDateTime") - UNIX_EPOCH).total_seconds()
        except (ValueError, TypeError, InputError):
            stats.malformed += 1
            continue
        stats.messages += 1
        lat, lon = _float(row.get("LAT")), _float(row.get("LON"))
        length, width = _float(row.get("Length")), _float(row.get("Width"))
        imo = (row.get("IMO") or "").removeprefix("IMO")
        vt = _float(row.get("VesselType"))
        out.add_static(mmsi, name=(row.get("VesselName") or "").strip(),
                       ship_type=int(vt) if math.isfinite(vt) and vt > 0 else None,
                       length_m=length if length > 0 else None, width_m=width if width > 0 else None,
                       callsign=(row.get("CallSign") or "").strip(), imo=int(imo) if imo.isdigit() else None)
        if not _valid_position(lat, lon):
            stats.no_position += 1
            continue
        out.rows.append((mmsi, when, lat, lon, _speed(_float(row.get("SOG"))), _angle(_float(row.get("COG")), 360.0),
                         _angle(_float(row.get("Heading")), 360.0)))
    return out.data(stats)


def read_jsonl(text: str, source: str = "<jsonl>") -> AisData:
    """JSON lines (see the module docstring); a line that is not an object with mmsi/time/lat/lon is counted."""
    stats = ReadStats()
    out = _Columns()
    for line in text.splitlines():
        if not line.strip():
            continue
        stats.lines += 1
        try:
            d = json.loads(line, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
            mmsi = int(d["mmsi"])
            when = (parse_instant(d["time"], "time") - UNIX_EPOCH).total_seconds()
        except (ValueError, TypeError, KeyError, InputError):
            stats.malformed += 1
            continue
        if not isinstance(d, dict):
            stats.malformed += 1
            continue
        stats.messages += 1
        out.add_static(mmsi, name=str(d.get("name") or ""), ship_type=d.get("ship_type"),
                       length_m=d.get("length_m"), width_m=d.get("width_m"))
        lat, lon = d.get("lat"), d.get("lon")
        if not _valid_position(lat, lon):
            stats.no_position += 1
            continue
        out.rows.append((mmsi, when, float(lat), float(lon), _speed(d.get("sog_kn")),  # type: ignore[arg-type]
                         _angle(d.get("cog_deg"), 360.0), _angle(d.get("heading_deg"), 360.0)))
    return out.data(stats)


def write_jsonl(data: AisData) -> str:
    """The JSON-lines form of `data` (what `read_jsonl` reads back): one report per line, static data on each."""
    out = []
    for k in range(len(data)):
        mmsi = int(data.mmsi[k])
        d: dict[str, Any] = {"mmsi": mmsi, "time": iso_z(float(data.time_s[k])),
                             "lat": round(float(data.lat_deg[k]), 7), "lon": round(float(data.lon_deg[k]), 7)}
        for key, col in (("sog_kn", data.sog_kn), ("cog_deg", data.cog_deg), ("heading_deg", data.heading_deg)):
            if math.isfinite(col[k]):
                d[key] = round(float(col[k]), 2)
        v = data.vessels.get(mmsi)
        if v is not None:
            d.update({k2: x for k2, x in (("name", v.name), ("ship_type", v.ship_type), ("length_m", v.length_m),
                                          ("width_m", v.width_m)) if x not in (None, "")})
        out.append(json.dumps(d, allow_nan=False))
    return "\n".join(out) + ("\n" if out else "")


def _sniff(head: bytes) -> str:
    first = next((ln.strip() for ln in head.splitlines() if ln.strip()), b"")
    if first.startswith(b"{"):
        return "jsonl"
    if b"MMSI" in first.upper() and b"," in first:
        return "csv"
    if b"!AIVD" in head or b"!BSVD" in head or b"!ABVD" in head or b"$" in first[:40]:
        return "nmea"
    raise InputError("not AIS data that Aquila reads", field="--ais",
                     expected="NMEA sentences (!AIVDM,...), MarineCadastre CSV (MMSI,BaseDateTime,LAT,LON,...) "
                              "or JSON lines ({\"mmsi\":...,\"time\":...,\"lat\":...,\"lon\":...})")


def read_ais(path: str | Path, fmt: str | None = None, received: datetime | None = None) -> AisData:
    """Read an AIS file in any of the three forms (told apart by content unless `fmt` is given)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {str(p)!r}: {exc.strerror}", field="--ais", expected="a readable file") from None
    if not raw.strip():
        raise InputError(f"{p.name!r} is empty", source=str(p), field="--ais", expected="AIS positions")
    kind = fmt or _sniff(raw[:65536])
    if kind not in FORMATS:
        raise InputError(f"{kind!r}", field="--ais-format", expected="|".join(FORMATS))
    if kind == "nmea":
        data = read_nmea(raw.splitlines(), received, source=str(p))
    else:
        text = raw.decode("utf-8", "replace")
        data = read_marinecadastre_csv(text, str(p)) if kind == "csv" else read_jsonl(text, str(p))
    if data.stats.messages == 0:  # nothing usable at all: say what was seen rather than return an empty set
        seen = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in data.stats.as_dict().items() if v)
        raise InputError(f"no AIS message could be decoded ({seen})", source=str(p), field="--ais",
                         expected=f"{kind} AIS data; e.g. !AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26")
    return data
