"""Tests of several OS processes sharing one SQLite store through ``SyncMfaHost``.

Each test spawns ``PROCESSES`` processes that build their own host on the same
file and wait at a barrier, so their submissions reach the store together.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from conftest import (
    PIN,
    USER,
    WRONG_PIN,
    HostFactory,
    ManualClock,
    host_config,
    limiter_failures,
    pin_module,
    read_rows,
)

from mfa_core import SyncMfaHost

PROCESSES = 4
BARRIER_TIMEOUT = 60.0
RESULT_TIMEOUT = 120.0

Outcome = tuple[str, str | None, dict[str, str]]


def submit_on_shared_session(
    config: dict[str, Any], now: float, session_id: str, barrier: Barrier
) -> list[Outcome]:
    """Submit the right PIN on a session that every process shares."""
    with SyncMfaHost.from_config(config, clock=ManualClock(now), environ={}) as host:
        barrier.wait(BARRIER_TIMEOUT)
        result = host.continue_login(session_id, USER, {"pin": PIN})
    return [(result.type, result.reason, result.errors)]


def submit_wrong_pin(
    config: dict[str, Any], now: float, session_id: str, barrier: Barrier
) -> list[Outcome]:
    """Begin a session of this process's own and submit a wrong PIN to it."""
    del session_id  # Each process begins its own session.
    with SyncMfaHost.from_config(config, clock=ManualClock(now), environ={}) as host:
        form = host.begin_login(USER)
        assert form.session_id is not None
        barrier.wait(BARRIER_TIMEOUT)
        result = host.continue_login(form.session_id, USER, {"pin": WRONG_PIN})
    return [(result.type, result.reason, result.errors)]


def run_worker(
    worker: Callable[[dict[str, Any], float, str, Barrier], list[Outcome]],
    config: dict[str, Any],
    now: float,
    session_id: str,
    barrier: Barrier,
    results: Any,
) -> None:
    """Run ``worker`` in a spawned process and put its outcomes, or its error, in ``results``."""
    try:
        results.put(worker(config, now, session_id, barrier))
    except Exception as error:
        barrier.abort()
        results.put(f"{type(error).__name__}: {error}")


def run_processes(
    worker: Callable[[dict[str, Any], float, str, Barrier], list[Outcome]],
    config: dict[str, Any],
    now: float,
    session_id: str = "",
) -> list[Outcome]:
    """Start ``PROCESSES`` spawned processes running ``worker`` and return all their outcomes."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    processes = [
        context.Process(target=run_worker, args=(worker, config, now, session_id, barrier, results))
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    try:
        reports = [results.get(timeout=RESULT_TIMEOUT) for _ in processes]
        for process in processes:
            process.join(RESULT_TIMEOUT)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()

    errors = [report for report in reports if isinstance(report, str)]
    assert errors == []
    assert [process.exitcode for process in processes] == [0] * PROCESSES
    return [outcome for report in reports for outcome in report]


def test_shared_session_one_success(
    make_host: HostFactory, clock: ManualClock, store_path: Path
) -> None:
    config = host_config(store_path, pin_module(users={USER: PIN}))
    host = make_host(config)
    form = host.begin_login(USER)
    assert form.session_id is not None

    outcomes = run_processes(submit_on_shared_session, config, clock.now, form.session_id)

    assert len(outcomes) == PROCESSES
    assert [outcome[0] for outcome in outcomes].count("success") == 1
    aborted = [outcome for outcome in outcomes if outcome[0] != "success"]
    assert aborted == [("abort", "login_expired", {})] * (PROCESSES - 1)
    assert read_rows(store_path, "SELECT COUNT(*) FROM sessions") == [(0,)]


def test_concurrent_failures_all_counted(
    make_host: HostFactory, clock: ManualClock, store_path: Path
) -> None:
    # The default policy checks 4 codes before the first back-off: failures 1 to 3 are
    # free, and the back-off starts with failure 4. So no process is rejected.
    config = host_config(store_path, pin_module(users={USER: PIN}))
    make_host(config)

    outcomes = run_processes(submit_wrong_pin, config, clock.now)

    assert outcomes == [("form", None, {"base": "invalid_code"})] * PROCESSES
    assert limiter_failures(store_path, USER, "insecure_example") == PROCESSES
