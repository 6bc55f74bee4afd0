"""AIS readers (pyais is the decoding authority) and vessel positions at an instant."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyais import encode_dict

from aquila.analytics.ais import AisData, read_ais, read_nmea
from aquila.analytics.ais.tracks import KNOT_M_S, SIGMA0_M, positions_at
from aquila.errors import InputError
from conftest import shared_path

T0 = datetime(2026, 3, 19, 10, 0, tzinfo=UTC)
T0_S = T0.timestamp()


def _cs(body: str) -> str:
    x = 0
    for ch in body:
        x ^= ord(ch)
    return f"{x:02X}"


def _pos(mmsi: int, lat: float, lon: float, **kw: float) -> str:
    (line,) = encode_dict({"type": 1, "mmsi": mmsi, "lat": lat, "lon": lon, **kw}, talker_id="AI", radio_channel="A")
    return line


def test_nmea_sample_decodes_as_pyais_does() -> None:
    from pyais import FileReaderStream

    path = shared_path("ais", "pyais_nmea_data_sample.txt")
    data = read_ais(path, received=T0)
    assert data.stats.messages == 778 and data.stats.bad_checksum == 0  # NOTES: 778 messages
    want = {}
    with FileReaderStream(str(path)) as stream:
        for msg in stream:
            try:
                d = msg.decode().asdict()
            except Exception:
                continue
            if d.get("msg_type") in (1, 2, 3, 18) and d.get("lat") is not None and abs(d["lat"]) <= 90:
                want.setdefault(d["mmsi"], []).append((round(d["lat"], 6), round(d["lon"], 6)))
    got: dict[int, set] = {}
    for m, la, lo in zip(data.mmsi, data.lat_deg, data.lon_deg, strict=True):
        got.setdefault(int(m), set()).add((round(float(la), 6), round(float(lo), 6)))
    for mmsi, points in want.items():  # every class A/B position pyais decodes is there, to the microdegree
        assert set(points) <= got[mmsi]
    assert np.all(data.time_s == T0_S)  # untimed file: each report takes the capture time given


def test_checksums_multipart_tag_blocks_and_leading_times() -> None:
    static = encode_dict({"type": 5, "mmsi": 211000001, "shipname": "TEST SHIP", "to_bow": 100, "to_stern": 20,
                          "to_port": 8, "to_starboard": 10, "ship_type": 70}, talker_id="AI", seq_id=3)
    other = encode_dict({"type": 5, "mmsi": 211000002, "shipname": "OTHER", "to_bow": 50, "to_stern": 10},
                        talker_id="AI", seq_id=4, radio_channel="B")
    good = _pos(211000001, 57.5, 19.25, speed=12.3, course=45.0, heading=44)
    bad = good[:-2] + ("00" if good[-2:] != "00" else "11")
    lines = [
        static[0], other[0], static[1], other[1],  # interleaved fragments of two messages
        f"\\c:{int(T0_S)}*{_cs(f'c:{int(T0_S)}')}\\{good}",  # NMEA 4.10 tag block, receive time in seconds
        f"2026-03-19T10:00:30Z {_pos(211000001, 57.51, 19.26, speed=102.3)}",  # leading ISO time; no speed
        f"{T0_S + 60:.1f} {_pos(211000001, 57.52, 19.27)}",  # leading Unix time
        bad,  # fails its checksum
        f"!AIVDM,2,2,7,A,00000000000,2*{_cs('AIVDM,2,2,7,A,00000000000,2')}",  # a second part whose first never came
        _pos(211000003, 10.0, 10.0),  # no time at all, none given
        "garbage line",
    ]
    data = read_nmea(lines)
    assert data.stats.bad_checksum == 1 and data.stats.untimed == 1 and data.stats.malformed == 1
    assert data.stats.incomplete_multipart == 1
    v = data.vessels[211000001]
    assert (v.name, v.length_m, v.width_m, v.ship_type) == ("TEST SHIP", 120.0, 18.0, 70)
    assert data.vessels[211000002].name == "OTHER"
    assert data.time_s.tolist() == [T0_S, T0_S + 30, T0_S + 60] and data.mmsi.tolist() == [211000001] * 3
    assert math.isclose(data.sog_kn[0], 12.3, abs_tol=0.05) and math.isclose(data.cog_deg[0], 45.0, abs_tol=0.05)
    assert np.isnan(data.sog_kn[1])  # "not available" (102.3 kn) is NaN, not a speed


def test_marinecadastre_csv_sample() -> None:
    path = shared_path("ais", "noaa_marinecadastre_2023-01-01_sample.csv")
    data = read_ais(path)
    assert data.stats.lines == 1000 and len(data) == 1000 - data.stats.no_position
    k = int(np.flatnonzero(data.mmsi == 636021061)[0])
    assert (data.lat_deg[k], data.lon_deg[k], data.sog_kn[k], data.cog_deg[k]) == (26.09241, -80.04806, 8.8, 272.7)
    assert data.time_s[k] == datetime(2023, 1, 11, tzinfo=UTC).timestamp()
    v = data.vessels[636021061]
    assert (v.name, v.length_m, v.width_m, v.imo, v.ship_type) == ("MSC NAISHA III", 208.0, 30.0, 9307839, 70)


def test_jsonl_and_bad_input(tmp_path: Path) -> None:
    f = tmp_path / "ais.jsonl"
    f.write_text("\n".join([
        json.dumps({"mmsi": 1, "time": "2026-03-19T10:00:00Z", "lat": 57.0, "lon": 19.0, "sog_kn": 10, "name": "A",
                    "length_m": 80}),
        '{"mmsi": 2, "time": "2026-03-19T10:00:00Z", "lat": NaN, "lon": 19.0}',  # non-finite: refused
        '{"mmsi": 3, "time": "yesterday", "lat": 57.0, "lon": 19.0}',
        '{"mmsi": 4, "time": "2026-03-19T10:00:00Z", "lat": 95.0, "lon": 19.0}',  # no valid position
        "[1, 2]"]) + "\n")
    data = read_ais(f)
    assert len(data) == 1 and data.stats.malformed == 3 and data.stats.no_position == 1
    assert data.vessels[1].length_m == 80
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(InputError, match="empty"):
        read_ais(tmp_path / "empty.txt")
    (tmp_path / "noise.bin").write_bytes(bytes(range(256)) * 10)
    with pytest.raises(InputError, match="--ais"):
        read_ais(tmp_path / "noise.bin")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=90), st.sampled_from([_pos(1, 1.0, 1.0), "!AIVDM,2,1,1,A,5,0*00"])),
                max_size=20))
def test_nmea_reader_counts_and_never_crashes_on_any_lines(lines: list[str]) -> None:
    data = read_nmea(lines, received=T0)
    st_ = data.stats
    assert st_.lines == sum(1 for ln in lines if ln.strip(" \t\r\n\x0b\x0c"))  # blank: ASCII white space only
    assert len(data) <= st_.messages <= st_.lines


def _track(points: list[tuple[float, float, float, float, float]]) -> AisData:
    t, lat, lon, sog, cog = zip(*points, strict=True)
    return AisData.from_columns([7] * len(t), t, lat, lon, sog, cog)


def test_positions_interpolate_dead_reckon_and_grow_uncertain() -> None:
    v_kn = 10.0
    v = v_kn * KNOT_M_S
    # due east along the equator at 10 kn: two reports 600 s apart
    lon1 = math.degrees(v * 600 / 6_371_008.8)
    data = _track([(T0_S, 0.0, 0.0, v_kn, 90.0), (T0_S + 600, 0.0, lon1, v_kn, 90.0)])
    mid = positions_at(data, T0_S + 300)
    assert mid.method_name(0) == "interpolated" and abs(mid.lon_deg[0] - lon1 / 2) * 111_195 < 1.0
    assert math.isclose(mid.sigma_m[0], SIGMA0_M + 0.1 * v * 300, rel_tol=1e-6)
    ahead = positions_at(data, T0_S + 1200)
    assert ahead.method_name(0) == "dead-reckoned" and abs(ahead.lon_deg[0] - 2 * lon1) * 111_195 < 1.0
    assert ahead.sigma_m[0] > mid.sigma_m[0] and math.isclose(ahead.speed_m_s[0], v)
    assert len(positions_at(data, T0_S + 600 + 3601)) == 0  # too long since the last report: not placed
    exact = positions_at(data, T0_S + 600.5)
    assert exact.method_name(0) == "report" and exact.sigma_m[0] == SIGMA0_M


def test_positions_across_the_antimeridian_and_moored() -> None:
    data = AisData.from_columns([1, 1, 2], [T0_S, T0_S + 600, T0_S], [10.0, 10.0, 50.0], [179.99, -179.99, 5.0],
                                [5.0, 5.0, 0.0], [90.0, 90.0, 0.0])
    p = positions_at(data, T0_S + 300)
    k = int(np.flatnonzero(p.mmsi == 1)[0])
    assert abs(abs(p.lon_deg[k]) - 180.0) < 1e-6  # half way: on the antimeridian, not at 0 deg
    j = int(np.flatnonzero(p.mmsi == 2)[0])
    assert p.method_name(j) == "held" and (p.lat_deg[j], p.lon_deg[j]) == (50.0, 5.0)
