"""Download a public cohort's input files: resumable, checked, never a partial file under the final name.

The files of each dataset are data (:data:`DATASETS`: name, URL, size and SHA-256 per file), not
code. A download goes to ``<name>.part`` beside its final place; an interrupted one (dropped
connection, Ctrl-C, a crash) is resumed from the bytes it has with an HTTP ``Range`` request (a
server that ignores ranges sends the whole file again). The server's validator of the file (its
strong ``ETag``, else its ``Last-Modified``) is saved beside the partial file as
``<name>.part.validator`` and sent as ``If-Range`` on resume: a file that changed on the server
meanwhile is then sent whole (200, not 206) and the download restarts from zero, never splicing
two versions. Only when the file is whole, its size
matches and its SHA-256 matches the one recorded here is it renamed to its final name
(``os.replace``, atomic): a file under the final name is always complete and checked. A mismatch
removes the download and is refused in one line.

Where this table has no size or checksum for a file yet (``None``: not confirmed here, e.g. a file
too large to have been downloaded where the table was written), the size the server announces
(``Content-Length`` / ``Content-Range``) is checked instead, and the checksum of the first complete
download is written beside the file, ``<name>.sha256`` (``sha256sum -c`` format), to be copied
into the table.

A mirror (``mirror``, or ``OMIBENCH_DATA_MIRROR`` for the CLI) serves the same files under one base
URL, as ``<mirror>/<file name>``; the recorded sizes and checksums still apply.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from omibench.errors import ConfigError, DataError

__all__ = ["DATASETS", "MIRROR_ENV", "Fetched", "Remote", "fetch_files", "files_of"]

MIRROR_ENV = "OMIBENCH_DATA_MIRROR"
CHUNK = 1 << 20
_XENA = "https://gdc-hub.s3.us-east-1.amazonaws.com/download"
_OMITRANS = "https://raw.githubusercontent.com/zhangxiaoyu11/OmiTrans/8240a4ebad5c549595574c6e0ec7c2774073168b"


@dataclass(frozen=True)
class Remote:
    """One file to download: saved as ``name``; ``size`` (bytes) and ``sha256`` None where not
    confirmed yet (then checked against the server's announced size, and the checksum recorded)."""

    name: str
    url: str
    size: int | None = None
    sha256: str | None = None
    about: str = ""


# The paper's inputs (experiments/tcga.yaml): the UCSC Xena GDC Pan-Cancer hub's matrices and
# phenotype table, and OmiTrans's published test split at the commit the paper's code is pinned to.
DATASETS: dict[str, tuple[Remote, ...]] = {
    "tcga": (
        Remote(
            "GDC-PANCAN.methylation450.tsv.gz",
            f"{_XENA}/GDC-PANCAN.methylation450.tsv.gz",
            about="DNA methylation 450K beta values, probes x samples (B)",
        ),
        Remote(
            "GDC-PANCAN.htseq_fpkm.tsv.gz",
            f"{_XENA}/GDC-PANCAN.htseq_fpkm.tsv.gz",
            about="gene expression log2(FPKM+1), 60,483 genes x samples (A)",
        ),
        Remote(
            "GDC-PANCAN.basic_phenotype.tsv.gz",
            f"{_XENA}/GDC-PANCAN.basic_phenotype.tsv.gz",
            about="phenotype table (project_id: the tumour type of Table 3)",
        ),
        Remote(
            "sample_id_testset.tsv",
            f"{_OMITRANS}/documents/sample_id_testset.tsv",
            size=32704,
            sha256="7bbfde595c172fba5ff8abc4ced0e46565c40df576827a43e63267d85ddf1f5d",
            about="the paper's 1,816 test ids (OmiTrans documents/, commit 8240a4e)",
        ),
    ),
}


@dataclass(frozen=True)
class Fetched:
    """What :func:`fetch_files` did with one file: ``fetched`` (``resumed`` from a partial download)
    or ``present`` (skipped); ``recorded`` when its checksum was written to the sidecar, not checked."""

    path: Path
    status: str
    size: int
    recorded: bool = False


def files_of(dataset: str) -> tuple[Remote, ...]:
    """The files of a known dataset; an unknown name is refused in one line naming the known ones."""
    if dataset not in DATASETS:
        raise ConfigError(f"dataset {dataset!r}: unknown; choose one of {', '.join(sorted(DATASETS))}")
    return DATASETS[dataset]


def fetch_files(
    files: Sequence[Remote],
    to: str | Path,
    *,
    mirror: str | None = None,
    progress: bool = True,
    echo: Callable[[str], None] = lambda _: None,
    retries: int = 3,
    pause_s: float = 2.0,
    timeout_s: float = 60.0,
) -> list[Fetched]:
    """Download each of ``files`` into folder ``to`` unless it is already there; return what was done.

    A file already under its final name is skipped when its size is the recorded one (it was checked
    when it was put there) and refused in one line when not. A dropped connection is retried
    ``retries`` times (after ``pause_s``, doubling), each time resuming from the partial file;
    past that one line says how much is kept and to rerun the same command. A size or checksum
    that does not match is refused in one line and its download removed."""
    folder = Path(to)
    folder.mkdir(parents=True, exist_ok=True)
    if not os.access(folder, os.W_OK):
        raise DataError(f"{folder}: cannot write here; give another folder with --to")
    done = []
    for remote in files:
        url = f"{mirror.rstrip('/')}/{remote.name}" if mirror else remote.url
        final = folder / remote.name
        if final.is_file():
            size = final.stat().st_size
            if remote.size is not None and size != remote.size:
                raise DataError(
                    f"{final}: {size} bytes where {remote.size} are expected (not the file this dataset names); "
                    "remove it and fetch again"
                )
            echo(f"{remote.name}: present ({_human(size)}), skipped")
            done.append(Fetched(final, "present", size))
            continue
        part = final.with_name(final.name + ".part")
        resumed = part.is_file() and part.stat().st_size > 0
        for attempt in range(retries + 1):
            try:
                total = _download(url, part, remote, progress, timeout_s)
                break
            except (OSError, http.client.HTTPException) as exc:  # URLError and dropped connections
                if isinstance(exc, urllib.error.HTTPError) and exc.code < 500:
                    raise DataError(f"{url}: HTTP {exc.code} {exc.reason}; check the address (or --mirror)") from None
                have = part.stat().st_size if part.is_file() else 0
                if attempt == retries:
                    raise DataError(
                        f"{url}: {_reason(exc)} after {retries + 1} tries; {_human(have)} kept in {part}: "
                        "rerun the same command to resume"
                    ) from None
                echo(f"{remote.name}: {_reason(exc)} at {_human(have)}; resuming in {pause_s * 2**attempt:g} s")
                time.sleep(pause_s * 2**attempt)
                resumed = resumed or have > 0
        recorded = _check(part, remote, total, url)
        os.replace(part, final)  # atomic: the final name only ever holds a checked, whole file
        _validator_file(part).unlink(missing_ok=True)
        echo(
            f"{remote.name}: {'resumed and ' if resumed else ''}fetched ({_human(total)})"
            + (f", sha256 recorded in {final.name}.sha256 (not yet in the package's table)" if recorded else "")
        )
        done.append(Fetched(final, "resumed" if resumed else "fetched", total, recorded))
    return done


def _download(url: str, part: Path, remote: Remote, progress: bool, timeout_s: float) -> int:
    """Bring ``part`` to the whole remote file (resuming from its bytes); return the total size."""
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "omibench-fetch"})
    saved = _validator_file(part)
    validator = saved.read_text().strip() if have and saved.is_file() else ""
    if have:
        request.add_header("Range", f"bytes={have}-")
        if validator:  # the file we have the start of: a changed one comes back whole (200)
            request.add_header("If-Range", validator)
    try:
        response = urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        whole = _range_total(exc.headers.get("Content-Range", "")) if exc.code == 416 else None
        if whole is not None and whole == have:
            return have  # the partial file is already whole
        if exc.code == 416:  # longer than the remote file: start again
            _discard(part)
            return _download(url, part, remote, progress, timeout_s)
        raise
    with response:
        if response.status == 206:
            content_range = response.headers.get("Content-Range", "")
            start = re.match(r"bytes (\d+)-", content_range)
            total = _range_total(content_range)
            if start is None or int(start.group(1)) != have:
                raise http.client.HTTPException(f"the server resumed at {content_range!r}, not at byte {have}")
            now = _validator(response.headers)
            if validator and now and now != validator:  # a server that ignored If-Range: start again
                response.close()
                _discard(part)
                return _download(url, part, remote, progress, timeout_s)
            mode = "ab"
        else:  # the whole file (a server that ignores ranges, or a fresh start, or a changed file)
            length = response.headers.get("Content-Length")
            total, have, mode = (int(length) if length else None), 0, "wb"
            now = _validator(response.headers)
            if now:
                saved.write_text(now + "\n")
            else:
                saved.unlink(missing_ok=True)
        if remote.size is not None and total is not None and total != remote.size:
            _discard(part)
            raise DataError(
                f"{url}: the server offers {total} bytes where {remote.size} are recorded (the file changed "
                "upstream?); refused, nothing kept"
            )
        _check_space(part.parent, (total or 0) - have, part)
        from tqdm import tqdm

        shown = None if progress else True  # None: a bar on a terminal only
        bar = tqdm(total=total, initial=have, unit="B", unit_scale=True, desc=remote.name, disable=shown)
        with open(part, mode) as out, bar:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
    got = part.stat().st_size
    if total is not None and got != total:
        raise http.client.IncompleteRead(b"", total - got)
    return got


def _check(part: Path, remote: Remote, total: int, url: str) -> bool:
    """Refuse (removing ``part``) a size or checksum that does not match; where the table has no
    checksum, write the sidecar and return True."""
    if remote.size is not None and total != remote.size:
        _discard(part)
        raise DataError(f"{url}: {total} bytes where {remote.size} are recorded; the download was removed")
    digest = hashlib.sha256()
    with open(part, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    found = digest.hexdigest()
    if remote.sha256 is None:
        sidecar = part.with_name(remote.name + ".sha256")
        tmp = sidecar.with_name(sidecar.name + ".tmp")
        tmp.write_text(f"{found}  {remote.name}\n")
        os.replace(tmp, sidecar)
        return True
    if found != remote.sha256.lower():
        _discard(part)
        raise DataError(
            f"{url}: sha256 {found[:16]}... does not match the recorded {remote.sha256[:16]}... (a corrupted or "
            "changed file); the download was removed: fetch again, and report it if it repeats"
        )
    return False


def _discard(part: Path) -> None:
    """Remove a partial download and its saved validator."""
    part.unlink(missing_ok=True)
    _validator_file(part).unlink(missing_ok=True)


def _validator_file(part: Path) -> Path:
    """Where the server's validator of a partial download is kept: beside ``<name>.part``."""
    return part.with_name(part.name + ".validator")


def _validator(headers: Message) -> str:
    """What identifies this version of the file for ``If-Range``: a strong ``ETag``, else
    ``Last-Modified`` (a weak ETag may not be used there); empty when the server sends neither."""
    etag = (headers.get("ETag") or "").strip()
    if etag and not etag.startswith("W/"):
        return etag
    return (headers.get("Last-Modified") or "").strip()


def _range_total(content_range: str) -> int | None:
    """The total of ``bytes a-b/T`` or ``bytes */T``; None when unknown (``*``)."""
    match = re.search(r"/(\d+)\s*$", content_range)
    return int(match.group(1)) if match else None


def _check_space(folder: Path, needed: int, part: Path) -> None:
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise DataError(
            f"{folder}: {_human(needed)} to download, {_human(free)} free; make room or give another --to "
            f"({part.name} is kept and resumed)"
        )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError):
        return f"cannot reach the server ({exc.reason})"
    if isinstance(exc, http.client.IncompleteRead):
        return "the connection dropped"
    return f"the connection failed ({type(exc).__name__}: {exc})" if str(exc) else f"the connection failed ({exc!r})"


def _human(n: int | None) -> str:
    if n is None:
        return "unknown size"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"
