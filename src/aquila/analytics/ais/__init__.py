"""AIS: read position reports (NMEA, MarineCadastre CSV, JSON lines) and place vessels at an image's time."""

from aquila.analytics.ais.model import AisData, ReadStats, Vessel, ship_type_name
from aquila.analytics.ais.read import read_ais, read_jsonl, read_marinecadastre_csv, read_nmea, write_jsonl

__all__ = ["AisData", "ReadStats", "Vessel", "ship_type_name", "read_ais", "read_nmea", "read_marinecadastre_csv",
           "read_jsonl", "write_jsonl"]
