"""`rtap drill`: bad options are refused before anything starts."""

from __future__ import annotations

from typer.testing import CliRunner

from rtap.cli import app


def test_an_unknown_component_is_refused_before_anything_starts() -> None:
    result = CliRunner().invoke(app, ["drill", "--kill", "platform", "--kill", "broker"])
    assert result.exit_code == 2
    assert "--kill" in result.output
    assert "no component named broker" in result.output
