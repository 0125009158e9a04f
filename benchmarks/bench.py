"""Benchmarks of mfa-core through its public API; prints one table of figures.

Run from the repository root after the set-up command:

    python benchmarks/bench.py            # every figure
    python benchmarks/bench.py --quick    # fewer runs and users, for a smoke check

Each figure is the median of several runs with min and max. The script exits
non-zero as soon as a login MFA step or an enrolment in it does not succeed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import multiprocessing
import os
import platform
import secrets
import shutil
import site
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import venv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp

from mfa_core import MfaHost
from mfa_core.store.memory import MemoryStore

PERIOD = 30
MODULE_ID = "totp"
TOTP_CONFIG: dict[str, Any] = {"modules": [{"type": "totp"}]}


class BenchmarkFailure(Exception):
    """A step inside a benchmark did not succeed, so its figure would be meaningless."""


class SteppingClock:
    """A clock the benchmark sets, so every login uses a fresh TOTP time step."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Figure:
    """One measured quantity over several runs."""

    name: str
    unit: str
    values: list[float]

    def row(self) -> str:
        """Return the figure as a table row: median, min, max."""
        median = statistics.median(self.values)
        return (
            f"| {self.name} | {_format(median)} | {_format(min(self.values))} | "
            f"{_format(max(self.values))} | {self.unit} |"
        )


def _format(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def new_secrets(count: int) -> list[str]:
    """Return ``count`` random 160-bit base32 TOTP secrets."""
    return [base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=") for _ in range(count)]


def codes_for(secret_list: Sequence[str], steps: Sequence[int]) -> list[str]:
    """Return the 6-digit SHA1 code of each secret at the matching time step."""
    return [
        pyotp.TOTP(secret, digest=hashlib.sha1, interval=PERIOD).generate_otp(step)
        for secret, step in zip(secret_list, steps, strict=True)
    ]


async def enrol_bulk(store_path: Path, user_count: int, prefix: str = "user") -> list[str]:
    """Enrol ``user_count`` users directly through the store's bulk path; return their secrets."""
    host = await MfaHost.create({**TOTP_CONFIG, "store": {"path": str(store_path)}})
    secret_list = new_secrets(user_count)
    batch = 50_000
    for start in range(0, user_count, batch):
        items = [
            (f"{prefix}{index}", {"secret": secret_list[index]})
            for index in range(start, min(start + batch, user_count))
        ]
        await host.store.set_user_data_many(MODULE_ID, items)
    await host.close()
    return secret_list


def current_codes(users: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return each user with the code of the current time step, computed before any timing."""
    step = int(time.time()) // PERIOD
    codes = codes_for([secret for _, secret in users], [step] * len(users))
    return [(user_id, code) for (user_id, _), code in zip(users, codes, strict=True)]


async def timed_logins(
    host: MfaHost, logins: Sequence[tuple[str, str]], clock: SteppingClock | None = None
) -> list[float]:
    """Run one full login MFA step per (user, code); return the latencies in seconds.

    With a stepping clock, login number k runs k time steps after the clock's start,
    so the codes must be for those steps. Without one, the host uses the real clock.
    """
    latencies: list[float] = []
    first_now = clock.now if clock is not None else 0.0
    for index, (user_id, code) in enumerate(logins):
        if clock is not None:
            clock.now = first_now + index * PERIOD
        started = time.perf_counter()
        begun = await host.begin_login(user_id)
        if begun.type != "form" or begun.session_id is None:
            raise BenchmarkFailure(f"begin_login for {user_id} gave {begun.type}")
        result = await host.continue_login(begun.session_id, user_id, {"code": code})
        latencies.append(time.perf_counter() - started)
        if result.type != "success":
            raise BenchmarkFailure(f"login for {user_id} gave {result.type} {result.reason}")
    return latencies


def login_worker(arguments: tuple[str, list[tuple[str, str]]]) -> tuple[float, list[float]]:
    """Run logins in a separate process on a shared SQLite store; return wall time and latencies."""
    store_path, users = arguments

    async def run() -> tuple[float, list[float]]:
        config = {**TOTP_CONFIG, "store": {"path": store_path}}
        host = await MfaHost.create(config)
        logins = current_codes(users)
        started = time.perf_counter()
        latencies = await timed_logins(host, logins)
        elapsed = time.perf_counter() - started
        await host.close()
        return elapsed, latencies

    return asyncio.run(run())


def measure_throughput(
    directory: Path, processes: int, steps_per_process: int, runs: int, *, shared: bool = True
) -> tuple[Figure, Figure, Figure]:
    """Measure full login MFA steps per second with ``processes`` processes.

    With ``shared`` the processes use one store file, as the workers of one host do.
    Without it each uses a copy of its own, which shows what the CPUs alone allow.
    """
    store_path = directory / f"throughput-{processes}-{'shared' if shared else 'own'}.sqlite3"
    # Every login uses a user of its own, so the replay guard never rejects a code.
    user_count = processes * steps_per_process * runs
    secret_list = asyncio.run(enrol_bulk(store_path, user_count))
    store_paths = [store_path] * processes
    if not shared:
        store_paths = [directory / f"own-{worker}.sqlite3" for worker in range(processes)]
        for own_path in store_paths:
            shutil.copyfile(store_path, own_path)
            own_path.chmod(0o600)
    context = multiprocessing.get_context("spawn")
    rates: list[float] = []
    p50: list[float] = []
    p99: list[float] = []

    with context.Pool(processes) as pool:
        for run in range(runs):
            jobs = []
            for worker in range(processes):
                first = (run * processes + worker) * steps_per_process
                users = [
                    (f"user{index}", secret_list[index])
                    for index in range(first, first + steps_per_process)
                ]
                jobs.append((str(store_paths[worker]), users))
            results = pool.map(login_worker, jobs)
            slowest = max(elapsed for elapsed, _ in results)
            latencies = sorted(
                latency for _, worker_latencies in results for latency in worker_latencies
            )
            rates.append(processes * steps_per_process / slowest)
            p50.append(_percentile(latencies, 0.50) * 1000)
            p99.append(_percentile(latencies, 0.99) * 1000)

    label = f"{processes} process{'es' if processes > 1 else ''}"
    if not shared:
        label += ", one store file each"
    return (
        Figure(f"login MFA steps/s, SQLite, {label}", "steps/s", rates),
        Figure(f"latency p50, SQLite, {label}", "ms", p50),
        Figure(f"latency p99, SQLite, {label}", "ms", p99),
    )


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return sorted_values[index]


def measure_scaling(
    directory: Path, sizes: Sequence[int], steps: int, enrolments: int, runs: int
) -> list[Figure]:
    """Measure one login step and one confirmed enrolment at each number of enrolled users."""
    figures: list[Figure] = []
    baseline_login: float | None = None
    baseline_enrol: float | None = None
    for size in sizes:
        store_path = directory / f"scaling-{size}.sqlite3"
        secret_list = asyncio.run(enrol_bulk(store_path, size))
        login_costs, enrol_costs = asyncio.run(
            _scaling_runs(store_path, secret_list, steps, enrolments, runs)
        )
        login_median = statistics.median(login_costs)
        enrol_median = statistics.median(enrol_costs)
        baseline_login = baseline_login or login_median
        baseline_enrol = baseline_enrol or enrol_median
        figures.append(Figure(f"login step at {size:,} users", "µs", login_costs))
        figures.append(
            Figure(
                f"login step at {size:,} users / at {sizes[0]:,}",
                "ratio",
                [cost / baseline_login for cost in login_costs],
            )
        )
        figures.append(Figure(f"enrolment at {size:,} users", "µs", enrol_costs))
        figures.append(
            Figure(
                f"enrolment at {size:,} users / at {sizes[0]:,}",
                "ratio",
                [cost / baseline_enrol for cost in enrol_costs],
            )
        )
        store_path.unlink()
    return figures


async def _scaling_runs(
    store_path: Path, secret_list: list[str], steps: int, enrolments: int, runs: int
) -> tuple[list[float], list[float]]:
    host = await MfaHost.create({**TOTP_CONFIG, "store": {"path": str(store_path)}})
    # Distinct random users across all runs, so no code is replayed. Run 0 warms the
    # caches and is not counted.
    picks = secrets.SystemRandom().sample(range(len(secret_list)), steps * (runs + 1))
    login_costs: list[float] = []
    enrol_costs: list[float] = []
    for run in range(runs + 1):
        chosen = picks[run * steps : (run + 1) * steps]
        logins = current_codes([(f"user{index}", secret_list[index]) for index in chosen])
        latencies = await timed_logins(host, logins)
        enrolment_times = await _timed_enrolments(host, enrolments, run)
        if run > 0:
            login_costs.append(statistics.median(latencies) * 1e6)
            enrol_costs.append(statistics.median(enrolment_times) * 1e6)
    await host.close()
    return login_costs, enrol_costs


async def _timed_enrolments(host: MfaHost, count: int, run: int) -> list[float]:
    durations: list[float] = []
    for index in range(count):
        user_id = f"new{run}-{index}-{secrets.token_hex(4)}"
        started = time.perf_counter()
        form = await host.start_setup(MODULE_ID, user_id)
        paused = time.perf_counter()
        secret = form.description_placeholders["secret"].replace(" ", "")
        code = pyotp.TOTP(secret, interval=PERIOD).now()
        resumed = time.perf_counter()
        assert form.flow_id is not None
        done = await host.continue_setup(form.flow_id, user_id, {"code": code})
        durations.append((paused - started) + (time.perf_counter() - resumed))
        if done.type != "create_entry":
            raise BenchmarkFailure(f"enrolment of {user_id} gave {done.type} {done.reason}")
    return durations


def measure_overhead(steps: int, runs: int) -> list[Figure]:
    """Compare a full login step on the in-memory store with a bare pyotp verification."""
    ratios: list[float] = []
    framework: list[float] = []
    bare: list[float] = []
    for _ in range(runs):
        full_cost = asyncio.run(_memory_store_step_cost(steps))
        bare_cost = _bare_pyotp_cost(steps)
        framework.append(full_cost * 1e6)
        bare.append(bare_cost * 1e6)
        ratios.append(full_cost / bare_cost)
    return [
        Figure("full login step, in-memory store", "µs", framework),
        Figure("bare pyotp.TOTP.verify, window 1", "µs", bare),
        Figure("full step / bare verify", "ratio", ratios),
    ]


async def _memory_store_step_cost(steps: int) -> float:
    host = await MfaHost.create(TOTP_CONFIG, store=MemoryStore())
    secret_list = new_secrets(steps)
    users = [(f"user{index}", secret) for index, secret in enumerate(secret_list)]
    await host.store.set_user_data_many(
        MODULE_ID, [(user_id, {"secret": secret}) for user_id, secret in users]
    )
    latencies = await timed_logins(host, current_codes(users))
    await host.close()
    return sum(latencies) / len(latencies)


def _bare_pyotp_cost(steps: int) -> float:
    secret_list = new_secrets(1000)
    totps = [pyotp.TOTP(secret, interval=PERIOD) for secret in secret_list]
    moments = [1_700_000_000 + index * PERIOD for index in range(steps)]
    codes = [totps[index % 1000].at(moment) for index, moment in enumerate(moments)]
    started = time.perf_counter()
    for index, (moment, code) in enumerate(zip(moments, codes, strict=True)):
        if not totps[index % 1000].verify(code, for_time=moment, valid_window=1):
            raise BenchmarkFailure("pyotp rejected its own code")
    return (time.perf_counter() - started) / steps


STARTUP_SCRIPT = textwrap.dedent(
    """
    import time
    started = time.perf_counter()
    from mfa_core import SyncMfaHost
    host = SyncMfaHost.from_config({config!r})
    host.close()
    print(time.perf_counter() - started)
    """
)


def measure_startup(directory: Path, runs: int, extra_plugins: int) -> list[Figure]:
    """Time ``mfa modules`` and importing mfa_core plus building a host, with extra plugins.

    Two temporary virtual environments see this interpreter's packages, and the second
    also has the extra plugin distributions installed. Runs alternate between the two,
    so a change in the machine's speed during the benchmark affects both alike.
    """
    plain, _ = _make_virtual_environment(directory / "startup-venv")
    extended, site_packages = _make_virtual_environment(directory / "startup-venv-plugins")
    _write_fake_distributions(site_packages, extra_plugins)

    config = {**TOTP_CONFIG, "store": {"path": str(directory / "startup.sqlite3")}}
    config_file = directory / "startup.yaml"
    config_file.write_text(
        f"store: {{path: {directory / 'startup.sqlite3'}}}\nmodules: [{{type: totp}}]\n"
    )
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    labels = {plain: "", extended: f", {extra_plugins} extra plugins"}
    build_times: dict[Path, list[float]] = {plain: [], extended: []}
    command_times: dict[Path, list[float]] = {plain: [], extended: []}

    for _ in range(runs):
        for python in (plain, extended):
            script = [str(python), "-c", STARTUP_SCRIPT.format(config=config)]
            output = subprocess.run(
                script, env=environment, check=True, capture_output=True, text=True
            ).stdout
            build_times[python].append(float(output) * 1000)
            command = [str(python), "-m", "mfa_core.cli", "modules", "--config", str(config_file)]
            command_times[python].append(_wall_time(command, environment) * 1000)

    figures: list[Figure] = []
    for python in (plain, extended):
        label = labels[python]
        figures.append(Figure(f"import mfa_core + build host{label}", "ms", build_times[python]))
        figures.append(Figure(f"`mfa modules` wall time{label}", "ms", command_times[python]))
    return figures


def _make_virtual_environment(target: Path) -> tuple[Path, Path]:
    """Create a virtual environment that also loads this interpreter's site directories.

    Returns its interpreter and its site-packages directory.
    """
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    site_packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # An import line in a .pth file runs at start-up; addsitedir also reads the .pth files
    # there, which editable installs use.
    lines = [f"import site; site.addsitedir({path!r})" for path in site.getsitepackages()]
    (site_packages / "benchmark-parent.pth").write_text("\n".join(lines) + "\n")
    return python, site_packages


def _wall_time(command: list[str], environment: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=environment, check=True, capture_output=True)
    return time.perf_counter() - started


def _write_fake_distributions(directory: Path, count: int) -> None:
    # Each is what pip installs for a tiny plugin distribution: a module and its dist-info.
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        name = f"bench_plugin_{index}"
        (directory / f"{name}.py").write_text(
            textwrap.dedent(
                f"""
                import voluptuous as vol
                from mfa_core import MfaModule, ModuleType, hookimpl

                class Module{index}(MfaModule):
                    def mfa_input_schema(self):
                        return vol.Schema({{vol.Required("code"): str}})

                    async def mfa_setup_user(self, user_id, setup_data):
                        await self.data.put(user_id, dict(setup_data))

                    async def mfa_validate(self, user_id, user_input):
                        return False

                @hookimpl
                def mfa_register_module_types(register):
                    register(ModuleType(name="bench_{index}", factory=Module{index},
                                        default_name="Benchmark {index}"))
                """
            )
        )
        info = directory / f"bench_plugin_{index}-1.0.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: bench-plugin-{index}\nVersion: 1.0\n"
        )
        (info / "entry_points.txt").write_text(f"[mfa_core.module_types]\nbench_{index} = {name}\n")
        (info / "RECORD").write_text("")


def memory_worker(store_path: str, logins: list[tuple[str, str]], first_now: float) -> int:
    """Serve the given logins on a stepping clock; return peak resident memory in KiB."""

    async def serve() -> None:
        clock = SteppingClock(first_now)
        host = await MfaHost.create({**TOTP_CONFIG, "store": {"path": store_path}}, clock=clock)
        await timed_logins(host, logins, clock)
        await host.close()

    asyncio.run(serve())
    return _peak_resident_kib()


def _peak_resident_kib() -> int:
    # Linux keeps ru_maxrss across fork and exec, so a new process would report the peak of
    # the process that started it. VmHWM belongs to this process's own address space.
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_memory(directory: Path, sizes: Sequence[int], logins: int, runs: int) -> list[Figure]:
    """Measure the peak memory of a process serving logins at each number of enrolled users."""
    figures: list[Figure] = []
    context = multiprocessing.get_context("spawn")
    for size in sizes:
        store_path = directory / f"memory-{size}.sqlite3"
        secret_list = asyncio.run(enrol_bulk(store_path, size))
        rng = secrets.SystemRandom()
        peaks: list[float] = []
        for run in range(runs):
            # Every size serves the same number of logins. A user who logs in again does so
            # at a later time step, and each run starts after every step of the runs before.
            picks = [rng.randrange(size) for _ in range(logins)]
            first_step = 500_000_000 + run * logins * 2
            steps = [first_step + index for index in range(logins)]
            codes = codes_for([secret_list[pick] for pick in picks], steps)
            planned = [(f"user{pick}", code) for pick, code in zip(picks, codes, strict=True)]
            arguments = (str(store_path), planned, first_step * PERIOD + 1.0)
            with context.Pool(1, maxtasksperchild=1) as pool:
                peaks.append(pool.apply(memory_worker, arguments) / 1024)
        figures.append(Figure(f"peak memory serving logins, {size:,} users", "MiB", peaks))
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark and print the table; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and users (smoke check)")
    parser.add_argument(
        "--runs", type=int, default=None, help="runs per figure (default 5, quick 2)"
    )
    parser.add_argument(
        "--only",
        choices=["throughput", "scaling", "overhead", "startup", "memory"],
        action="append",
        help="run only these benchmarks (repeatable)",
    )
    options = parser.parse_args(argv)
    runs = options.runs or (2 if options.quick else 5)
    selected = set(options.only or ["throughput", "scaling", "overhead", "startup", "memory"])
    sizes = [10**3, 10**4] if options.quick else [10**3, 10**4, 10**5, 10**6]
    steps = 1000 if options.quick else 5000

    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="mfa-bench-") as temporary:
        directory = Path(temporary)
        os.environ["XDG_CONFIG_HOME"] = str(directory)
        try:
            if "throughput" in selected:
                for processes in (1, 2):
                    figures += measure_throughput(directory, processes, steps, runs)
                figures += measure_throughput(directory, 2, steps, runs, shared=False)
            if "scaling" in selected:
                figures += measure_scaling(directory, sizes, 150, 50, runs)
            if "overhead" in selected:
                figures += measure_overhead(steps, runs)
            if "startup" in selected:
                # A new interpreter's start-up varies more than the in-process figures.
                figures += measure_startup(directory, runs * 3, 50)
            if "memory" in selected:
                figures += measure_memory(
                    directory, [10, 10**4 if options.quick else 10**5], 2000, runs
                )
        except BenchmarkFailure as failure:
            print(f"benchmark failed: {failure}", file=sys.stderr)
            return 1

        synchronous = _synchronous_mode(directory)

    python = f"Python {platform.python_version()} ({platform.machine()})"
    print(
        f"{python}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs; "
        f"SQLite synchronous={synchronous} in WAL mode; {runs} runs per figure"
    )
    print()
    print("| figure | median | min | max | unit |")
    print("| --- | --- | --- | --- | --- |")
    for figure in figures:
        print(figure.row())
    return 0


def _synchronous_mode(directory: Path) -> str:
    async def read() -> str:
        host = await MfaHost.create(
            {**TOTP_CONFIG, "store": {"path": str(directory / "mode.sqlite3")}}
        )
        connection = getattr(host.store, "_connection", None)
        mode = "unknown"
        if isinstance(connection, sqlite3.Connection):
            value = connection.execute("PRAGMA synchronous").fetchone()[0]
            mode = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(value, str(value))
        await host.close()
        return mode

    return asyncio.run(read())


if __name__ == "__main__":
    sys.exit(main())
