"""The alerts as the Markdown table docs/operations.md shows (a test keeps them equal)."""

from __future__ import annotations

from collections.abc import Sequence

from infra.monitoring.model import RuleGroup, all_alerts


def alert_table(groups: Sequence[RuleGroup]) -> str:
    rows = [
        "| alert | severity | meaning | threshold, and why | runbook |",
        "| --- | --- | --- | --- | --- |",
    ]
    for alert in all_alerts(groups):
        cells = (
            f"`{alert.name}`",
            alert.severity,
            alert.summary,
            alert.threshold,
            f"[runbook](../runbooks/{alert.name}.md)",
        )
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows) + "\n"
