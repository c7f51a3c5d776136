"""CPU accounting for the benchmarks, from /proc: processes (user + system seconds), their
children, and the whole machine, so a figure says who spent the CPU (server, database,
Redis, client) and whether the machine was saturated."""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int, system_only: bool = False) -> float:
    """User + system (or only system) CPU seconds of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[12]) + (0 if system_only else int(fields[11]))) / TICK


def children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot (all cores)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICK, sum(values) / TICK


def pids_named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


class CpuMeter:
    """CPU seconds of groups of processes between ``start()`` and ``stop()``. A process that
    exits inside the window loses its share (database backends past the pool size do)."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self.before: dict[int, float] = {}
        self.machine_before = (0.0, 0.0)
        self.result: dict[str, float] = {}
        self.server_sys_before = 0.0

    def start(self) -> None:
        self.before = {p: proc_cpu(p) for pids in self.groups.values() for p in pids}
        self.server_sys_before = sum(proc_cpu(p, True) for p in self.groups["server"])
        self.machine_before = machine_busy()

    def stop(self, refresh: dict[str, list[int]] | None = None) -> None:
        """``refresh``: groups whose processes may have changed (new ones count from 0)."""
        groups = {**self.groups, **(refresh or {})}
        self.result = {
            name: sum(max(0.0, proc_cpu(p) - self.before.get(p, 0.0)) for p in pids)
            for name, pids in groups.items()
        }
        self.result["server_system"] = (
            sum(proc_cpu(p, True) for p in self.groups["server"]) - self.server_sys_before
        )
        busy, total = machine_busy()
        self.result["machine_busy"] = busy - self.machine_before[0]
        self.result["machine_total"] = total - self.machine_before[1]
