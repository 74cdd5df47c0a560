"""Report versions: every analysis run keeps the report it made, and earlier ones stay readable.

Each ``analyze-media`` run ends by saving its report as version ``N`` (1, 2, ...) of the case: the
JSON goes to the object store under ``cases/<case id>/exports/report-v<N>.json`` and a small index
document (stage ``report``, key ``v<N>``) says when it was made and with which models and settings.
``aima report CASE --version N`` reads a saved version back unchanged; ``aima report CASE`` builds
the report from what the stores hold now (reviewer corrections included) and names the latest
saved version it extends.

The settings a report records are the ones that change results; secrets (``SecretStr`` fields)
are left out and passwords in store URLs are masked, so a report can be shared.
"""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr

from aima.errors import AimaError
from aima.settings import Settings
from aima.storage import Stores
from aima.storage.objects import case_prefix

STAGE = "report"


class UnknownReportVersion(AimaError):
    """``--version N`` names a version the case does not have."""


def _key(version: int) -> str:
    return f"v{version:06d}"


def object_key(case_id: str, version: int) -> str:
    return f"{case_prefix(case_id)}exports/report-v{version}.json"


def versions(stores: Stores, case_id: str) -> list[dict[str, Any]]:
    """The saved versions of a case's report, oldest first (``version``, ``generated_at``, ...)."""
    return [doc.data for doc in stores.documents.query(case_id, stage=STAGE)]


def latest_version(stores: Stores, case_id: str) -> int | None:
    saved = versions(stores, case_id)
    return saved[-1]["version"] if saved else None


def save(stores: Stores, case_id: str, report: dict[str, Any]) -> int:
    """Save ``report`` as the case's next version; sets ``report["case"]["report_version"]``."""
    version = (latest_version(stores, case_id) or 0) + 1
    report["case"]["report_version"] = version
    key = object_key(case_id, version)
    data = json.dumps(report, indent=2, ensure_ascii=False).encode()
    stores.objects.put_stream(key, io.BytesIO(data), length=len(data),
                              content_type="application/json")
    stores.documents.put(case_id, STAGE, _key(version), {
        "version": version, "object_key": key, "generated_at": report["case"]["generated_at"],
        "models": report["case"].get("models", {}),
        "narrative": report.get("narrative", {}).get("status"),
    })
    return version


def load(stores: Stores, case_id: str, version: int) -> dict[str, Any]:
    """Saved version ``version`` of the case's report, as it was written."""
    entry = stores.documents.get(case_id, STAGE, _key(version))
    if entry is None:
        saved = [str(v["version"]) for v in versions(stores, case_id)]
        raise UnknownReportVersion(
            f"the case has no report version {version}; saved versions: "
            + (", ".join(saved) if saved else "none (run aima analyze first)"))
    with stores.objects.open(entry["object_key"]) as stream:
        return json.load(stream)


def recorded_settings(settings: Settings) -> dict[str, Any]:
    """The settings a report was made with, without secrets and without passwords in URLs."""
    recorded: dict[str, Any] = {}
    for name, value in settings:
        if isinstance(value, SecretStr) or name in ("hf_token",):
            continue
        if isinstance(value, BaseModel):
            value = {k: v for k, v in value if not isinstance(v, SecretStr)}
        elif isinstance(value, str) and "://" in value:
            value = mask_password(value)
        recorded[name] = value if isinstance(value, (str, int, float, bool, dict, list,
                                                     type(None))) else str(value)
    return recorded


def mask_password(url: str) -> str:
    """``scheme://user:secret@host/...`` -> ``scheme://user:***@host/...``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
