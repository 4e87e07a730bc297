"""The data contracts as JSON Schema files (``opsgraph contracts export``): the core contracts, the lifecycle
agents' reports and the diagnosis."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from core.contracts import CONTRACTS
from core.diagnosis import Diagnosis
from core.reports import AnalystReport, ComparisonReport, FeedbackReport

EXPORTED: tuple[type[BaseModel], ...] = (*CONTRACTS, AnalystReport, ComparisonReport, FeedbackReport, Diagnosis)


def export_json_schemas(out_dir: Path | str = Path("docs/contracts")) -> list[Path]:
    """Write one JSON Schema per contract (``<Name>.schema.json``) into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for model in EXPORTED:
        path = out / f"{model.__name__}.schema.json"
        path.write_text(json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
