"""Client of the platform process's control endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from workloads.storage.sizes import TableSize


class ControlError(RuntimeError):
    """The platform process answered with an error, or did not answer."""


class ControlUnavailableError(ControlError):
    """The platform process did not answer (it is down, or restarting)."""


class ControlClient:
    def __init__(self, port: int, token: str, timeout_s: float = 120.0) -> None:
        self._http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
        )

    def health(self) -> dict[str, Any] | None:
        """The platform's state, or None while it is not answering."""
        try:
            response = self._http.get("/internal/health", timeout=2.0)
        except httpx.HTTPError:
            return None
        return dict(response.json()) if response.status_code == httpx.codes.OK else None

    def stats(self, timeline_since: float | None = None) -> dict[str, Any]:
        params = {"timeline_since": timeline_since} if timeline_since is not None else {}
        return self._call("GET", "/internal/stats", params=params)

    def rollups(self, from_minute: int) -> list[list[Any]]:
        cells: list[list[Any]] = self._call(
            "POST", "/internal/rollups", json={"from_minute": from_minute}
        )["cells"]
        return cells

    def storage_sizes(self) -> list[TableSize]:
        tables = self._call("GET", "/internal/storage-sizes")["tables"]
        return [TableSize.of(table) for table in tables]

    def storage_verdict(
        self,
        ground_truth_dir: Path,
        start_offsets: dict[int, int],
        baseline: list[list[Any]],
        baseline_from_minute: int,
    ) -> dict[str, Any]:
        return self._call(
            "POST",
            "/internal/storage-check",
            json={
                "ground_truth_dir": str(ground_truth_dir),
                "start_offsets": start_offsets,
                "baseline": baseline,
                "baseline_from_minute": baseline_from_minute,
            },
        )

    def set_faults(self, *, clickhouse_unavailable: bool) -> None:
        self._call(
            "PUT", "/internal/faults", json={"clickhouse_unavailable": clickhouse_unavailable}
        )

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ControlUnavailableError(f"platform control {path}: {exc}") from exc
        if response.status_code != httpx.codes.OK:
            raise ControlError(f"platform control {path}: {response.status_code} {response.text}")
        return dict(response.json())
