"""Conformance checks in a child process: a plugin's ``sys.exit``, ``os._exit`` or crash is its failure.

The child (``python -m omibench.contract.isolation NAME --out FILE [--plugins-dir DIR]...``) loads the
registry, runs each check and appends one JSON line per event to FILE, flushed before the next
check starts: ``start`` (a check begins), ``result``, ``problem`` (a plugin failed to load),
``error`` (the name cannot be resolved) and ``done``. The parent reads the file after the child
ended, so whatever killed the child, the last ``start`` without a ``result`` names the culprit.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from omibench.errors import ConfigError, OmibenchError, PluginError, one_line

__all__ = ["run_in_child"]

log = logging.getLogger(__name__)


def run_in_child(
    name: str, plugin_dirs: list[str], timeout_s: float, on_problem: Callable[[str], None] | None = None
) -> list[Any]:
    from omibench.contract.conformance import CheckResult, translator_checks
    from omibench.contract.translator import Translator

    with tempfile.TemporaryDirectory(prefix="omibench-check-") as tmp:
        out, errors = Path(tmp) / "events.jsonl", Path(tmp) / "stderr.txt"
        cmd = [sys.executable, "-m", "omibench.contract.isolation", name, "--out", str(out)]
        for d in plugin_dirs:
            cmd += ["--plugins-dir", d]
        timed_out = False
        with open(errors, "wb") as err:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err, start_new_session=True)
            try:
                code = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc)
                code = proc.wait()
            except BaseException:  # Ctrl-C in the parent: take the child (and its workers) down too
                _kill_group(proc)
                proc.wait()
                raise
        events = _read_events(out)
        stderr_tail = _last_line(errors)

    results: list[CheckResult] = []
    running = ""
    for event in events:
        kind = event.get("event")
        if kind == "problem":
            (on_problem or log.warning)(str(event.get("message", "")))
        elif kind == "error":
            error = ConfigError if event.get("kind") == "ConfigError" else PluginError
            raise error(str(event.get("message", "")))
        elif kind == "start":
            running = str(event.get("check", ""))
        elif kind == "result":
            results.append(CheckResult(str(event["check"]), bool(event["passed"]), str(event.get("detail", ""))))
            running = ""
        elif kind == "done" and code == 0 and not timed_out:
            return results

    if timed_out:
        what = f"timed out after {timeout_s:g} s; the check process was stopped"
    elif code < 0:
        what = f"the check process was killed by signal {_signal_name(-code)}"
    elif not events:
        what = f"the check process exited with status {code} before running any check"
    else:
        what = f"the check process exited with status {code} without a result (sys.exit or os._exit in the translator?)"
    if stderr_tail and not timed_out:
        what += f"; last output: {stderr_tail}"
    if running:
        results.append(CheckResult(running, False, what))
    elif not events or not results:
        results.append(CheckResult("load", False, what))
    # a translator class is needed only for the names of the checks that never ran
    done = {r.name for r in results}
    for check_name, _ in translator_checks(Translator):
        if check_name not in done:
            results.append(CheckResult(check_name, False, "not run: the check process ended early"))
    return results


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _read_events(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:  # a line cut short by the child's death
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def _last_line(path: Path) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _child(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m omibench.contract.isolation")
    parser.add_argument("name")
    parser.add_argument("--out", required=True)
    parser.add_argument("--plugins-dir", action="append", default=[])
    args = parser.parse_args(argv)
    with open(args.out, "a", encoding="utf-8") as out:
        return _run(args.name, args.plugins_dir, out)


def _run(name: str, plugin_dirs: list[str], out: IO[str]) -> int:
    def emit(**event: Any) -> None:
        out.write(json.dumps(event, default=str) + "\n")
        out.flush()

    from omibench.contract.conformance import translator_checks
    from omibench.contract.registry import load_registry

    try:
        registry = load_registry(plugin_dirs)
        for problem in registry.problems:
            emit(event="problem", message=problem)
        cls = registry.translator(name)
    except OmibenchError as exc:
        emit(event="error", kind=type(exc).__name__, message=str(exc))
        return 2
    except BaseException as exc:  # a plugin that exits or crashes while being imported
        emit(event="error", kind="PluginError", message=f"loading the plugins failed: {one_line(exc)}")
        return 2
    for check_name, check in translator_checks(cls):
        emit(event="start", check=check_name)
        try:
            detail = check(cls)
            emit(event="result", check=check_name, passed=True, detail=detail)
        except BaseException as exc:  # SystemExit / KeyboardInterrupt from a plugin are its failure
            from omibench.contract.conformance import failure_detail

            emit(event="result", check=check_name, passed=False, detail=failure_detail(exc))
    emit(event="done")
    return 0


if __name__ == "__main__":
    code = _child(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # skip interpreter shutdown: a plugin's atexit hooks or stray threads must not change the verdict
    os._exit(code)
