"""Parameter counts per module: where a model's capacity sits."""

from __future__ import annotations

from torch import nn


def parameter_counts(model: nn.Module) -> dict[str, int]:
    """Parameters of each direct child module, plus ``total``."""
    counts = {name: sum(p.numel() for p in child.parameters()) for name, child in model.named_children()}
    counts["total"] = sum(p.numel() for p in model.parameters())
    return counts


def format_parameter_table(models: dict[str, nn.Module]) -> str:
    """A Markdown table: one row per module, one column per model."""
    tables = {name: parameter_counts(model) for name, model in models.items()}
    rows = list(dict.fromkeys(row for counts in tables.values() for row in counts))
    rows.remove("total")
    rows.append("total")
    lines = ["| module | " + " | ".join(tables) + " |", "|---|" + "---:|" * len(tables)]
    for row in rows:
        lines.append(f"| {row} | " + " | ".join(f"{tables[m].get(row, 0):,}" for m in tables) + " |")
    return "\n".join(lines)
