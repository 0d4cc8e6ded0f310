"""The numbers `docker stats` shows, computed from the engine's raw samples exactly as the docker CLI
does (cli/command/container/stats_helpers.go), and the CLI's way of printing them.

Pure functions over plain dicts: no engine calls here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

NEVER = "0001-01-01T00:00:00Z"  # the "read" time of a sample from a container that is not running


@dataclass(frozen=True)
class Usage:
    cpu_percent: float | None  # None: no previous sample to take a delta from
    mem_usage: int  # bytes, page cache that can be reclaimed left out
    mem_limit: int
    mem_percent: float
    net_rx: int
    net_tx: int
    block_read: int
    block_write: int
    pids: int
    read: str  # the engine's timestamp of the sample

    def as_dict(self) -> dict:
        return asdict(self)


def is_running_sample(sample: dict) -> bool:
    """A stopped container still yields samples, all zero and read at the zero time."""
    return bool(sample.get("read")) and sample.get("read") != NEVER and bool(sample.get("memory_stats"))


def cpu_percent(cpu: dict, previous: dict | None) -> float | None:
    """cpu_delta / system_delta * online_cpus * 100, from two samples' "cpu_stats".

    None when there is no previous sample (the engine's first sample has empty "precpu_stats").
    """
    if not previous or not previous.get("system_cpu_usage"):
        return None
    cpu_delta = float(cpu.get("cpu_usage", {}).get("total_usage", 0)) - float(
        previous.get("cpu_usage", {}).get("total_usage", 0)
    )
    system_delta = float(cpu.get("system_cpu_usage", 0)) - float(previous.get("system_cpu_usage", 0))
    online = float(cpu.get("online_cpus") or 0) or float(len(cpu.get("cpu_usage", {}).get("percpu_usage") or []))
    if system_delta > 0.0 and cpu_delta > 0.0:
        return cpu_delta / system_delta * online * 100.0
    return 0.0


def memory_usage(memory: dict) -> int:
    """Usage without the inactive page cache: total_inactive_file on cgroup v1, inactive_file on v2."""
    usage = int(memory.get("usage") or 0)
    extra = memory.get("stats") or {}
    if "total_inactive_file" in extra:
        if extra["total_inactive_file"] < usage:
            return usage - int(extra["total_inactive_file"])
        # the CLI falls through to the v2 key here, which a v1 sample also carries
    inactive = int(extra.get("inactive_file") or 0)
    if inactive < usage:
        return usage - inactive
    return usage


def block_io(blkio: dict) -> tuple[int, int]:
    """Bytes read and written: every io_service_bytes_recursive entry whose op starts with r or w."""
    read = write = 0
    for entry in blkio.get("io_service_bytes_recursive") or []:
        op = (entry.get("op") or "")[:1].lower()
        if op == "r":
            read += int(entry.get("value") or 0)
        elif op == "w":
            write += int(entry.get("value") or 0)
    return read, write


def network_io(networks: dict | None) -> tuple[int, int]:
    rx = sum(int(n.get("rx_bytes") or 0) for n in (networks or {}).values())
    tx = sum(int(n.get("tx_bytes") or 0) for n in (networks or {}).values())
    return rx, tx


def usage(sample: dict, previous_cpu: dict | None = None) -> Usage:
    """Everything `docker stats` shows for one sample.

    The CPU delta is taken against `previous_cpu` (the "cpu_stats" of an earlier sample) when given,
    else against the sample's own "precpu_stats", as the CLI does with a streamed sample.
    """
    memory = sample.get("memory_stats") or {}
    used = memory_usage(memory)
    limit = int(memory.get("limit") or 0)
    rx, tx = network_io(sample.get("networks"))
    read, write = block_io(sample.get("blkio_stats") or {})
    previous = previous_cpu if previous_cpu is not None else sample.get("precpu_stats")
    return Usage(
        cpu_percent=cpu_percent(sample.get("cpu_stats") or {}, previous),
        mem_usage=used,
        mem_limit=limit,
        mem_percent=used / limit * 100.0 if limit else 0.0,
        net_rx=rx,
        net_tx=tx,
        block_read=read,
        block_write=write,
        pids=int((sample.get("pids_stats") or {}).get("current") or 0),
        read=sample.get("read") or "",
    )


def binary_size(n: float) -> str:
    """Like go-units BytesSize, the CLI's memory column: 2.082MiB, 23.54GiB."""
    return _size(n, 1024.0, ["B", "KiB", "MiB", "GiB", "TiB", "PiB"])


def decimal_size(n: float) -> str:
    """Like go-units HumanSizeWithPrecision(n, 3), the CLI's net and block columns: 586B, 1.2kB."""
    return _size(n, 1000.0, ["B", "kB", "MB", "GB", "TB", "PB"], precision=3)


def _size(n: float, base: float, units: list[str], precision: int = 4) -> str:
    i = 0
    n = float(n)
    while n >= base and i < len(units) - 1:
        n /= base
        i += 1
    return f"{n:.{precision}g}{units[i]}"


def format_usage(u: Usage) -> dict:
    """The columns of `docker stats`, as text."""
    return {
        "cpu": "--" if u.cpu_percent is None else f"{u.cpu_percent:.2f}%",
        "mem": f"{binary_size(u.mem_usage)} / {binary_size(u.mem_limit)}",
        "mem_percent": f"{u.mem_percent:.2f}%",
        "net": f"{decimal_size(u.net_rx)} / {decimal_size(u.net_tx)}",
        "block": f"{decimal_size(u.block_read)} / {decimal_size(u.block_write)}",
        "pids": str(u.pids),
    }
