"""Peak resident memory of this process for the benchmark scripts (the Swift side reads the same fields)."""
from __future__ import annotations

from pathlib import Path


def reset_peak_rss():
    """VmHWM restarts from the current resident size (Linux: "5" into /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mib():
    """VmHWM of /proc/self/status in MiB; None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None
