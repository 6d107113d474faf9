"""Sample the resident memory of a whole process tree (a run and its worker processes) every few seconds.

    python benchmarks/rss_tree.py PID LOG [--every 2] [--stop-below-gib 2]

Each line of LOG: UTC time, summed RSS of PID and all its descendants (GiB), the largest single
process (GiB, pid, command), MemAvailable (GiB), the 1-minute load average, the number of processes.
The summed PSS beside it counts pages shared between the processes (the memory-mapped data cache)
once. At the end (PID gone) the peaks of the sums and when it happened are appended. With
``--stop-below-gib``, when MemAvailable drops under that, PID's children (or PID) get SIGTERM once (an
omibench run stops cleanly on it, as on Ctrl-C, and keeps what finished). Reads /proc only: no
dependency. ``/usr/bin/time -v`` reports the largest single process, not the sum over a parent and its
workers: this does.
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from datetime import datetime, timezone

GIB = 1024**3
PAGE = os.sysconf("SC_PAGE_SIZE")


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(name))
    return kids


def tree(pid: int) -> list[int]:
    kids, out, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def pss_bytes(pid: int) -> int:
    """Proportional set size: shared pages (a memory-mapped data cache read by the driver and its
    worker) counted once over the processes sharing them, where RSS counts them in each."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")[:80].strip()
    except OSError:
        return "?"


def mem_available() -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pid", type=int)
    ap.add_argument("log")
    ap.add_argument("--every", type=float, default=2.0)
    ap.add_argument("--stop-below-gib", type=float, default=None)
    args = ap.parse_args()
    peak, peak_at, stopped = 0, "", False
    peak_pss, peak_pss_at = 0, ""
    with open(args.log, "a", buffering=1) as log:
        log.write(
            "time\ttree_rss_gib\ttree_pss_gib\tlargest_gib\tlargest_pid\tavailable_gib\tload1\tn_procs\tlargest_cmd\n"
        )
        while os.path.exists(f"/proc/{args.pid}"):
            pids = tree(args.pid)
            sizes = {p: rss_bytes(p) for p in pids}
            total = sum(sizes.values())
            pss = sum(pss_bytes(p) for p in pids)
            big = max(sizes, key=lambda p: sizes[p])
            avail = mem_available()
            now = datetime.now(timezone.utc).strftime("%H:%M:%S")
            load1 = os.getloadavg()[0]
            log.write(
                f"{now}\t{total / GIB:.2f}\t{pss / GIB:.2f}\t{sizes[big] / GIB:.2f}\t{big}\t{avail / GIB:.2f}\t"
                f"{load1:.2f}\t{len(pids)}\t{command(big)}\n"
            )
            if total > peak:
                peak, peak_at = total, now
            if pss > peak_pss:
                peak_pss, peak_pss_at = pss, now
            if args.stop_below_gib is not None and not stopped and avail < args.stop_below_gib * GIB:
                # SIGTERM, not SIGINT: a job started in the background of a non-interactive shell
                # ignores SIGINT; omibench stops on SIGTERM as on Ctrl-C. To the children of PID
                # when it has some (PID is then /usr/bin/time, which would die and orphan them).
                targets = _children().get(args.pid, []) or [args.pid]
                low = f"MemAvailable {avail / GIB:.2f} GiB < {args.stop_below_gib} GiB"
                log.write(f"# {now}: {low}: SIGTERM to {targets}\n")
                for target in targets:
                    os.kill(target, signal.SIGTERM)
                stopped = True
            time.sleep(args.every)
        log.write(
            f"# peak tree RSS {peak / GIB:.2f} GiB at {peak_at}; "
            f"peak tree PSS {peak_pss / GIB:.2f} GiB at {peak_pss_at}\n"
        )


if __name__ == "__main__":
    main()
