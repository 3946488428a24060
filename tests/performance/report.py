"""Collects figures and baselines, prints the table and writes ``.local/bench.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

BENCH_JSON = Path(".local/bench.json")


@dataclass
class Report:
    figures: dict[str, dict[str, object]] = field(default_factory=dict)
    goals: dict[str, str] = field(default_factory=dict)

    def baseline(self, name: str, value: float, unit: str) -> None:
        self.figures[name] = {"value": round(value, 4), "unit": unit, "baseline": name, "ratio": 1.0}

    def figure(self, name: str, value: float, unit: str, baseline: str, goal: str = "") -> None:
        base = float(self.figures[baseline]["value"])  # type: ignore[arg-type]
        self.figures[name] = {
            "value": round(value, 4),
            "unit": unit,
            "baseline": baseline,
            "ratio": float(f"{value / base:.3g}") if base else None,
        }
        if goal:
            self.goals[name] = goal

    def write(self, path: Path = BENCH_JSON) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        existing = json.loads(path.read_text()) if path.exists() else {}
        existing.update(self.figures)
        path.write_text(json.dumps(existing, indent=2) + "\n")

    def print_table(self) -> None:
        print(f"\n{'figure':<40} {'value':>14} {'unit':<10} {'baseline':<34} {'ratio':>7}  goal")
        print("-" * 130)
        for name, f in self.figures.items():
            print(
                f"{name:<40} {f['value']:>14,} {f['unit']!s:<10} {f['baseline']!s:<34} {f['ratio']!s:>7}  "
                f"{self.goals.get(name, '')}"
            )
