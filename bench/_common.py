"""Shared helpers: timing, percentiles, the machine, realistic entries and cached ledgers."""

from __future__ import annotations

import cProfile
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import pstats
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sealog.canonical import canonicalize
from sealog.crypto import SigningKey, entry_signing_prefix
from sealog.ledger import Ledger
from sealog.ledger.entry import ENTRY_VERSION, SignedEntry, format_time

OUT = Path(__file__).resolve().parent / "out"
"""Where results, cached ledgers and scratch ledgers go (gitignored)."""

ENTRY_FORMAT = 1
"""Bump when the generated entries change, so cached ledgers are rebuilt."""

BUILD_BATCH = 10_000
"""Batch size used to build the large cached ledgers (the sequencer's MAX_BATCH)."""

BASE_TIME = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


# -- output -------------------------------------------------------------------------------------


def log(message: str) -> None:
    """Progress goes to stderr so the table on stdout stays clean."""
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Figure:
    """One row of the results table."""

    bench: str
    name: str
    value: float
    unit: str
    limit: float | None = None
    limit_unit: str | None = None
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "bench": self.bench,
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "limit": self.limit,
            "limit_unit": self.limit_unit,
            "ratio": self.ratio,
            "target": self.target,
            "pass": self.passed,
            "note": self.note,
        }


@dataclass
class Result:
    """What one benchmark module returns."""

    name: str
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seconds": round(self.seconds, 2),
            "figures": [f.to_dict() for f in self.figures],
            "details": self.details,
        }


_RATES = {"entries/s", "proofs/s", "decisions/s", "appends/s", "pairs/s"}


def fmt(value: float | None, unit: str = "") -> str:
    """Human form of a figure."""
    if value is None:
        return "—"
    if unit in _RATES or abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}".strip()


def table(results: list[Result]) -> str:
    """The results as a plain-text table."""
    header = ("benchmark", "figure", "value", "limit", "ratio", "target", "pass")
    rows = [header]
    for result in results:
        for f in result.figures:
            verdict = "—" if f.passed is None else ("PASS" if f.passed else "FAIL")
            rows.append(
                (
                    f.bench,
                    f.name,
                    fmt(f.value, f.unit),
                    fmt(f.limit, f.limit_unit or ""),
                    "—" if f.ratio is None else f"{f.ratio:.3f}",
                    f.target or "—",
                    verdict,
                )
            )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# -- timing -------------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``fn`` once; return (seconds, its result)."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(sorted_values: list[float], p: float) -> float:
    """The p-th percentile (0–100) of already sorted values, linearly interpolated."""
    if not sorted_values:
        raise ValueError("no values")
    k = (len(sorted_values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def profile_to(path: Path, fn: Callable[[], Any], *, top: int = 30) -> Any:
    """Run ``fn`` under cProfile; write the top functions by cumulative time to ``path``."""
    prof = cProfile.Profile()
    out = prof.runcall(fn)
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("cumulative")
    stats.print_stats(top)
    buf.write("\n--- by own (tottime) ---\n")
    stats.sort_stats("tottime").print_stats(top)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue(), encoding="utf-8")
    log(f"profile written to {path.relative_to(OUT.parent.parent)}")
    return out


# -- the machine --------------------------------------------------------------------------------


def _cpuinfo() -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return found
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in {"model name", "cpu MHz", "cache size", "flags"} and key not in found:
            found[key] = value.strip()
    return found


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _git(*args: str) -> str | None:
    """Read-only git query in the project (never changes state)."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=OUT.parent.parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def source_state() -> dict[str, Any]:
    """Which sealog was measured: the commit, and whether src/ differs from it."""
    changed = _git("status", "--porcelain", "--", "src")
    return {
        "commit": _git("rev-parse", "--short", "HEAD"),
        "src_modified": None if changed is None else bool(changed),
    }


def load_average() -> list[float] | None:
    """1/5/15-minute load averages: other work on the machine skews every figure."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = _cpuinfo()
    flags = set(cpu.get("flags", "").split())
    return {
        "cpu_model": cpu.get("model name", platform.processor() or "?"),
        "cpu_mhz": cpu.get("cpu MHz"),
        "cpu_cache": cpu.get("cache size"),
        "cpu_flags": sorted(flags & {"avx2", "avx512f", "sha_ni", "aes", "bmi2"}),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_count": os.cpu_count(),
        "mem_gib": _mem_total_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "sqlite": sqlite3.sqlite_version,
        "pynacl": _version("pynacl"),
        "rfc8785": _version("rfc8785"),
        "sealog": _version("sealog"),
    }


# -- keys and entries ---------------------------------------------------------------------------


def key_from(label: str) -> SigningKey:
    """A deterministic key, so cached ledgers and fresh runs use the same actors."""
    return SigningKey(hashlib.sha256(f"sealog-bench/{label}".encode()).digest())


_ACTIONS = (
    ("post_reply", "https://forum.example.com/t/{n}"),
    ("http_request", "https://api.example.com/orders/{n}"),
    ("send_email", "mailto:c{n}@example.org"),
    ("tool_call", "tool://search?q=item-{n}"),
    ("trade", "xnas://orders/{n}"),
)
_MODELS = ("gpt-4o", "haiku", "llama-70b")


def action_fields(i: int) -> dict[str, Any]:
    """The kind-specific fields of a realistic action entry (~390 canonical bytes in all)."""
    action, target = _ACTIONS[i % len(_ACTIONS)]
    n = (i * 7919) % 1_000_003
    return {
        "action": action,
        "target": target.format(n=n),
        "content_hash": "sha256:" + hashlib.sha256(i.to_bytes(8, "big")).hexdigest(),
        "metadata": {"model": _MODELS[i % len(_MODELS)], "tokens": str(64 + n % 4000)},
    }


class Fleet:
    """One owner and some agents, all with deterministic keys."""

    def __init__(self, agents: int = 8, label: str = "fleet") -> None:
        self.owner = key_from(f"{label}/owner")
        self.agents = [key_from(f"{label}/agent-{i}") for i in range(agents)]
        self._heads: dict[str, tuple[int, bytes]] = {}
        self._addresses = {id(k): k.address for k in self.agents}
        self._prefix = entry_signing_prefix("action")

    def registrations(self) -> list[SignedEntry]:
        """The owner's self-registration and one registration per agent, signed in order."""
        scratch = Ledger.in_memory()
        try:
            entries = [
                scratch.sign_next(
                    self.owner,
                    "register",
                    {
                        "subject": self.owner.address,
                        "public_key": self.owner.public_key.b64,
                        "role": "owner",
                        "name": "bench-owner",
                    },
                    time=BASE_TIME,
                )
            ]
            for i, agent in enumerate(self.agents):
                fields = {
                    "subject": agent.address,
                    "public_key": agent.public_key.b64,
                    "role": "agent",
                    "name": f"bench-agent-{i}",
                }
                entries.append(scratch.sign_next(self.owner, "register", fields, time=BASE_TIME))
        finally:
            scratch.close()
        return entries

    def author_of(self, i: int) -> SigningKey:
        """Which agent makes entry ``i``: a fixed, uneven interleaving of the agents."""
        n = len(self.agents)
        return self.agents[(i * 5 + i // 3) % n]

    def sign_with_ledger(self, count: int, start: int = 0) -> list[SignedEntry]:
        """Sign ``count`` action entries through ``Ledger.sign_next`` on a scratch ledger."""
        scratch = Ledger.in_memory()
        try:
            return [
                scratch.sign_next(
                    self.author_of(i),
                    "action",
                    action_fields(i),
                    time=BASE_TIME + timedelta(milliseconds=i),
                )
                for i in range(start, start + count)
            ]
        finally:
            scratch.close()

    def sign_fast(self, count: int, start: int = 0) -> list[SignedEntry]:
        """Sign ``count`` action entries by hand (same bytes as sign_next would make).

        Skips re-parsing the canonical bytes we just produced; the ledger still checks
        schema, signature and chain of every one on submit. Chains continue across calls.
        """
        out: list[SignedEntry] = []
        heads = self._heads
        prefix = self._prefix
        sha256 = hashlib.sha256
        for i in range(start, start + count):
            key = self.author_of(i)
            author = self._addresses[id(key)]
            head = heads.get(author)
            body = action_fields(i)
            body["v"] = ENTRY_VERSION
            body["kind"] = "action"
            body["author"] = author
            body["seq"] = 0 if head is None else head[0] + 1
            body["prev"] = None if head is None else head[1].hex()
            body["time"] = format_time(BASE_TIME + timedelta(milliseconds=i))
            data = canonicalize(body)
            sig = key.sign(prefix + data)
            leaf = sha256(b"\x00" + sig + data).digest()
            out.append(SignedEntry(data, sig, body, leaf))
            heads[author] = (body["seq"], leaf)
        return out


# -- ledgers ------------------------------------------------------------------------------------


def warm_file(path: Path) -> None:
    """Read a file once so the OS page cache holds it."""
    with path.open("rb") as fh:
        while fh.read(1 << 22):
            pass


def db_files(home: Path) -> Iterator[Path]:
    for name in ("ledger.db", "ledger.db-wal"):
        if (home / name).exists():
            yield home / name


def count_checkpoints(home: Path) -> int:
    """Checkpoints stored in a home's ledger: one per commit (group commit or batch)."""
    conn = sqlite3.connect(home / "ledger.db")
    try:
        return int(conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0])
    finally:
        conn.close()


def cached_ledger(size: int) -> tuple[Path, dict[str, Any]]:
    """A home holding ``size`` action entries (plus registrations), built once and reused.

    Cached under ``bench/out/ledger-<size>``; a ``build.json`` beside it marks a finished build
    and records how long it took.
    """
    home = OUT / f"ledger-{size}"
    marker = home.parent / f"ledger-{size}.build.json"
    if marker.exists():
        info = json.loads(marker.read_text(encoding="utf-8"))
        if info.get("entry_format") == ENTRY_FORMAT and (home / "ledger.db").exists():
            info["cached"] = True
            return home, info
    shutil.rmtree(home, ignore_errors=True)
    marker.unlink(missing_ok=True)
    home.parent.mkdir(parents=True, exist_ok=True)
    log(f"building a {size:,}-entry ledger in {home.relative_to(OUT.parent.parent)} (cached after)")
    fleet = Fleet()
    sign_s = submit_s = 0.0
    start = time.perf_counter()
    ledger = Ledger.init(home)
    try:
        ledger.submit(fleet.registrations())
        done = 0
        next_report = size // 10
        while done < size:
            n = min(BUILD_BATCH, size - done)
            t, batch = timed(lambda n=n, done=done: fleet.sign_fast(n, done))
            sign_s += t
            t, _ = timed(lambda batch=batch: ledger.submit(batch))
            submit_s += t
            done += n
            if done >= next_report:
                elapsed = time.perf_counter() - start
                log(f"  {done:,}/{size:,} entries, {done / elapsed:,.0f}/s overall")
                next_report += max(size // 10, 1)
        total = ledger.size()
    finally:
        ledger.close()
    seconds = time.perf_counter() - start
    info = {
        "entry_format": ENTRY_FORMAT,
        "entries": size,
        "ledger_size": total,
        "build_seconds": round(seconds, 2),
        "build_rate": round(size / seconds, 1),
        "sign_seconds": round(sign_s, 2),
        "submit_seconds": round(submit_s, 2),
        "submit_rate": round(size / submit_s, 1),
        "batch": BUILD_BATCH,
        "built": datetime.now(UTC).isoformat(timespec="seconds"),
        "db_bytes": sum(p.stat().st_size for p in db_files(home)),
    }
    marker.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    info["cached"] = False
    log(f"built in {seconds:.1f} s ({size / seconds:,.0f} entries/s)")
    return home, info
