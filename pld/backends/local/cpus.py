"""How many CPUs the embedded engine may use: its thread counts.

llama-cpp-python's defaults are half of ``os.cpu_count()`` for generation (it assumes two
hyperthreads per core) and all of it for prompt evaluation. Both ignore the CPUs this process is
allowed to run on (affinity) and a container's CPU quota; the first also halves a machine without
hyperthreads (a 2-core VM generates on one core: ``benchmarks/threads.py``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

SYS_CPU = Path("/sys/devices/system/cpu")
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def usable_cpus() -> int:
    """Logical CPUs this process may run on, capped by a cgroup v2 CPU quota: prompt threads."""
    try:
        allowed = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        allowed = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    return max(min(allowed, quota) if quota else allowed, 1)


def physical_cores() -> int:
    """Physical cores among the usable CPUs (hyperthread siblings count once): generation threads.

    Where the kernel does not say which CPUs are siblings, every usable CPU counts; off Linux,
    llama-cpp-python's own halving is kept.
    """
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return max((os.cpu_count() or 2) // 2, 1)
    siblings = set()
    for cpu in allowed:
        try:
            siblings.add((SYS_CPU / f"cpu{cpu}" / "topology" / "thread_siblings_list").read_text().strip())
        except OSError:  # no topology: count logical CPUs rather than mix the two
            siblings = set(map(str, allowed))
            break
    return max(min(len(siblings), usable_cpus()), 1)


def cgroup_cpu_quota() -> int | None:
    """CPUs a cgroup v2 quota allows (``cpu.max`` "200000 100000" -> 2), None without a quota."""
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return max(math.ceil(int(quota) / int(period)), 1)
    except (ValueError, ZeroDivisionError):
        return None
