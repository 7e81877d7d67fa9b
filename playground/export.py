"""What an Export panel offers: the numbers on screen, their tables, and a script that
reproduces them with the public libraries. Gradio-free, so a concept's views build it."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Export:
    """What a concept's Export panel offers for the result on screen."""

    numbers: dict[str, Any]  # JSON-able: the figures on screen (what ``snippet`` prints)
    snippet: str  # a Python script that prints ``numbers`` as JSON, using public libraries
    tables: dict[str, tuple[list[str], list[list[Any]]]] = field(default_factory=dict)  # CSVs


def write_files(concept_id: str, result: Export) -> list[str]:
    """The export as files in a fresh temporary folder (Gradio serves them from there)."""
    folder = Path(tempfile.mkdtemp(prefix=f"playground-{concept_id}-"))
    files = {
        f"{concept_id}.json": json.dumps(result.numbers, indent=2, allow_nan=False) + "\n",
        f"reproduce_{concept_id}.py": result.snippet,
    }
    for name, (headers, rows) in result.tables.items():
        out = io.StringIO()
        csv.writer(out).writerows([headers, *rows])
        files[f"{concept_id}-{name}.csv"] = out.getvalue()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [str(folder / name) for name in files]
