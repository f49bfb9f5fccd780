"""Data files the components load (metrics rules), kept out of Python literals."""

from __future__ import annotations

from pathlib import Path

MANIFESTS = Path(__file__).resolve().parent


def text(name: str) -> str:
    return (MANIFESTS / name).read_text()
