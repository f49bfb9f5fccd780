"""Restarting the local platform's processes when they die, as Kubernetes restarts a pod.

While `rtap up` or `rtap bench` runs, a component that exits (a crash, an out-of-memory
kill, `kill -9` in a drill) is started again after a back-off that doubles with each
failure. Nothing is lost by a restart: the Spark processes resume from their checkpoints
and the broker from its log (docs/exactly-once.md). A component that keeps failing is
left down and shown as crash-looping, so a broken setting is reported rather than hidden
behind endless restarts.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)

RUNNING, WAITING, RESTARTING, CRASH_LOOP = "running", "waiting", "restarting", "crash-loop"
Publish = Callable[[dict[str, "ComponentState"]], None]


@dataclass(frozen=True)
class RestartPolicy:
    """When to restart a component that died, and when to stop trying."""

    first_backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    # More failures than this within `window_s` is a crash loop.
    max_restarts: int = 5
    window_s: float = 600.0

    def backoff_s(self, recent_failures: int) -> float:
        """The wait before the restart that follows `recent_failures` failures (>= 1)."""
        doubled = self.first_backoff_s * 2 ** max(recent_failures - 1, 0)
        return float(min(doubled, self.max_backoff_s))


class Supervised(Protocol):
    """What the supervisor needs of the processes it watches: whether one lives, and a restart."""

    def alive(self, name: str) -> bool: ...

    def restart(self, name: str) -> None:
        """Start the component again and return once it is ready; raise if it is not."""


@dataclass
class ComponentState:
    """One component as the live view and the run summary show it."""

    state: str = RUNNING
    restarts: int = 0
    last_failure: str = ""
    failures: deque[float] = field(default_factory=deque)


def describe(states: dict[str, ComponentState]) -> dict[str, dict[str, object]]:
    """The states as JSON-ready documents, by component."""
    return {
        name: {"state": s.state, "restarts": s.restarts, "last_failure": s.last_failure}
        for name, s in states.items()
    }


class Supervisor:
    """Watches the named components of `processes`, each from a thread of its own, so that
    one component's slow restart never delays noticing another's death."""

    def __init__(
        self,
        processes: Supervised,
        names: Iterable[str],
        policy: RestartPolicy | None = None,
        *,
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        publish: Publish | None = None,
    ) -> None:
        """`publish` gets the components' states every `interval_s`, for other processes
        (`rtap status`) to read."""
        self._processes = processes
        self._policy = policy or RestartPolicy()
        self._interval_s = interval_s
        self._clock = clock
        self._states = {name: ComponentState() for name in names}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._watch, args=(name,), name=f"watch-{name}", daemon=True)
            for name in self._states
        ]
        if publish is not None:
            self._threads.append(
                threading.Thread(
                    target=self._publish, args=(publish,), name="publish-states", daemon=True
                )
            )

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Stop watching; False if a restart was still under way after `timeout_s`.

        A restart under way finishes or fails on its own (fast once the processes
        are stopped); whatever it started must then be stopped too (`running_platform`).
        """
        self._stopping.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            if thread.is_alive():
                thread.join(max(deadline - time.monotonic(), 0.0))
        return not any(thread.is_alive() for thread in self._threads)

    def snapshot(self) -> dict[str, ComponentState]:
        with self._lock:
            return {
                name: ComponentState(s.state, s.restarts, s.last_failure, deque(s.failures))
                for name, s in self._states.items()
            }

    def restarts(self) -> dict[str, int]:
        """Restarts so far, by component (only those restarted at least once)."""
        return {name: s.restarts for name, s in self.snapshot().items() if s.restarts}

    def check_once(self) -> None:
        """One pass over the components, one after the other (the threads check each
        on its own): restart each one that died, or give up on it."""
        for name in self._states:
            self._check(name)

    def _check(self, name: str) -> None:
        if self._stopping.is_set() or self._states[name].state == CRASH_LOOP:
            return
        if not self._processes.alive(name):
            self._recover(name, "the process exited")

    def _watch(self, name: str) -> None:
        while not self._stopping.wait(self._interval_s):
            try:
                self._check(name)
            except Exception:  # the watcher must outlive any one failed check
                log.exception("supervisor check failed", component=name)

    def _publish(self, publish: Publish) -> None:
        while not self._stopping.wait(self._interval_s):
            try:
                publish(self.snapshot())
            except OSError as error:  # a full disk must not stop the supervision
                log.warning("could not publish the components' states", error=str(error))

    def _recover(self, name: str, reason: str) -> None:
        while not self._stopping.is_set():
            backoff = self._record_failure(name, reason)
            if backoff is None:
                return
            if self._stopping.wait(backoff):
                return
            self._set(name, RESTARTING)
            try:
                self._processes.restart(name)
            except (RuntimeError, OSError) as error:  # startup errors, timeouts
                if self._stopping.is_set():
                    return  # the processes were stopped under the restart
                reason = f"restart failed: {str(error).splitlines()[0]}"
                continue
            with self._lock:
                self._states[name].state = RUNNING
                self._states[name].restarts += 1
            log.info("component restarted", component=name)
            return

    def _record_failure(self, name: str, reason: str) -> float | None:
        """Note one failure; the back-off before the next restart, or None to give up."""
        now = self._clock()
        with self._lock:
            state = self._states[name]
            state.failures.append(now)
            while state.failures and now - state.failures[0] > self._policy.window_s:
                state.failures.popleft()
            state.last_failure = reason
            recent = len(state.failures)
            if recent > self._policy.max_restarts:
                state.state = CRASH_LOOP
            else:
                state.state = WAITING
        if recent > self._policy.max_restarts:
            log.error(
                "component keeps failing; not restarting it",
                component=name,
                failures=recent,
                window_s=self._policy.window_s,
                reason=reason,
            )
            return None
        backoff = self._policy.backoff_s(recent)
        log.warning("component died; restarting", component=name, reason=reason, in_s=backoff)
        return backoff

    def _set(self, name: str, state: str) -> None:
        with self._lock:
            self._states[name].state = state
