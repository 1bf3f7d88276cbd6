"""The benchmark results convention: benchmarks/results/NAME.json with date, machine, command, metrics."""

from __future__ import annotations

import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent


def log(msg: str) -> None:
    """A progress line with the time, flushed (benchmarks run for minutes, often under nohup)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def machine_info() -> dict:
    """Cores, CPU model, memory and GPU (if any) of this machine."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cores": os.cpu_count(), "cpu": cpu, "platform": platform.platform(), "python": platform.python_version()}
    try:
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        info["memory_gib"] = round(mem_kb / 1024**2, 1)
    except (OSError, StopIteration):
        pass
    try:
        gpu = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=10
        )
        if gpu.returncode == 0 and gpu.stdout.strip():
            info["gpu"] = gpu.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def command_line() -> str:
    return " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])


def write_result(
    name: str, metrics: dict[str, float], *, extra: dict | None = None, command: str | None = None,
    out: Path | None = None,
) -> Path:
    """Write benchmarks/results/NAME.json (or `out`, e.g. for a subset run); `metrics` must be a flat mapping of
    numbers (NaN becomes null)."""
    flat = {}
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"metric {key!r} is not a number: {value!r}")
        flat[key] = None if isinstance(value, float) and not math.isfinite(value) else value
    payload = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "command": command or command_line(),
        "metrics": flat,
        **(extra or {}),
    }
    path = Path(out) if out is not None else RESULTS_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return path


def reset_database(url: str) -> None:
    """Drop and create the scratch PostgreSQL database named at the end of `url`."""
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(url: str, *, settings_module: str = "ade_review.settings.local", **env: str) -> None:
    """Point Django at `url` with tasks in-process, then set it up (`env`: further environment variables)."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    os.environ["CELERY_BROKER_URL"] = ""
    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
