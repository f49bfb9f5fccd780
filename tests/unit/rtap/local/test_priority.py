"""Lowering the priority of a process, its autogroup, or some of its threads."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import threading

from rtap.local.priority import lower_threads_priority

_REPORT_PRIORITY = """
import os
from rtap.local.priority import lower_own_priority
lower_own_priority(7)
with open("/proc/self/autogroup") as autogroup:
    print(os.getpriority(os.PRIO_PROCESS, 0), autogroup.read().split()[-1])
"""


def _last_line_in_a_new_session(script: str) -> list[str]:
    """Run `script` as the leader of a session (and so of an autogroup) of its own."""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        start_new_session=True,
    )
    return result.stdout.splitlines()[-1].split()


def test_lowering_priority_covers_the_autogroup_of_a_session_leader() -> None:
    assert _last_line_in_a_new_session(_REPORT_PRIORITY) == ["7", "7"]


_REPORT_PRIORITY_OF_A_CHILD = f"""
import subprocess, sys
child = subprocess.run([sys.executable, "-c", {_REPORT_PRIORITY!r}], capture_output=True, text=True)
with open("/proc/self/autogroup") as autogroup:
    print(child.stdout.splitlines()[-1], autogroup.read().split()[-1])
"""


def test_lowering_priority_leaves_a_shared_autogroup_alone() -> None:
    # The session (and so the autogroup) is made here: the test runner's own may be the
    # kernel's default autogroup, whose /proc file reads empty (as on the CI machine).
    # the child's own nice value, the autogroup as the child saw it, as its leader sees it
    assert _last_line_in_a_new_session(_REPORT_PRIORITY_OF_A_CHILD) == ["7", "0", "0"]


def test_threads_are_found_by_their_name_and_reniced_once() -> None:
    named, release = threading.Event(), threading.Event()
    thread_ids: list[int] = []

    def named_worker() -> None:
        # What an engine such as ClickHouse does for its merge threads (PR_SET_NAME).
        ctypes.CDLL(None).prctl(15, b"rtapTestMerge", 0, 0, 0)
        thread_ids.append(threading.get_native_id())
        named.set()
        release.wait(10)

    worker = threading.Thread(target=named_worker)
    worker.start()
    try:
        assert named.wait(10)
        assert lower_threads_priority("rtapTestMerge", 6) == 1
        assert os.getpriority(os.PRIO_PROCESS, thread_ids[0]) == 6
        assert lower_threads_priority("rtapTestMerge", 6) == 0  # already there
        assert os.getpriority(os.PRIO_PROCESS, 0) != 6  # the calling thread is untouched
    finally:
        release.set()
        worker.join()
