"""GeoJSON export of a case report: where each file was made, as its metadata says.

:func:`feature_collection` turns the report's media rows that carry a ``location``
(:mod:`aima.report.triage`) into an RFC 7946 ``FeatureCollection``: one ``Point`` per file at
``[lon, lat]`` (``[lon, lat, alt]`` when the altitude is known), WGS 84. Each feature's
properties name the file (``media_id``, ``name``, ``type``, ``sha256``), when it was made
(``captured_at``, ``utc``, ``time_source``), where that came from (``location_source``) and its
near-duplicate stack. Files without a position are left out and counted in the collection's
``aima`` member (a foreign member, which RFC 7946 allows). GIS tools (QGIS, geojson.io,
Google Earth through a conversion) read the file as it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def feature_collection(report: dict[str, Any]) -> dict[str, Any]:
    features = []
    media = report.get("media", [])
    for row in media:
        location = row.get("location")
        if not location:
            continue
        point = [location["lon"], location["lat"]]
        if location.get("alt") is not None:
            point.append(location["alt"])
        captured = row.get("captured_at") or {}
        stack_of = row.get("near_duplicate_of") or {}
        features.append({
            "type": "Feature",
            "id": row["id"],
            "geometry": {"type": "Point", "coordinates": point},
            "properties": {
                "media_id": row["id"], "name": row.get("name"), "type": row.get("type"),
                "sha256": row.get("sha256"),
                "captured_at": captured.get("time"), "utc": captured.get("utc"),
                "time_source": captured.get("source"),
                "location_source": location.get("source"),
                "near_duplicate_stack": row.get("near_duplicate_stack"),
                "near_duplicate_of": stack_of.get("media_id"),
            },
        })
    case = report.get("case", {})
    return {
        "type": "FeatureCollection",
        "features": features,
        "aima": {"case_id": case.get("id"), "case": case.get("name"),
                 "generated_at": case.get("generated_at"), "files": len(media),
                 "located": len(features), "not_located": len(media) - len(features)},
    }


def write_geojson(report: dict[str, Any], out: Path) -> Path:
    """Write the report's positions to ``out`` as GeoJSON; returns ``out``."""
    out = Path(out)
    out.write_text(json.dumps(feature_collection(report), indent=2, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    return out
