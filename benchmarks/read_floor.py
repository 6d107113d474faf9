"""The floor of reading a gzipped text matrix: decompression alone, then decompression + parsing to
float32 with the streaming reader omibench uses (``omibench.data.stream.iter_chunks``).

    python benchmarks/read_floor.py /work/bigdata/tcga_20/GDC-PANCAN.methylation450.tsv.gz

Prints seconds, MB/s of text and rows/s for each; ``omibench data prepare`` per stage is compared
against these in docs/scale.md.
"""

from __future__ import annotations

import argparse
import gzip
import resource
import time
from pathlib import Path

from omibench.data.stream import iter_chunks, read_header


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    for path in args.files:
        t0 = time.perf_counter()
        text = 0
        with gzip.open(path, "rb") as fh:
            while block := fh.read(16 << 20):
                text += len(block)
        inflate = time.perf_counter() - t0
        t0 = time.perf_counter()
        rows = 0
        header = read_header(path)
        for ids, _ in iter_chunks(header):
            rows += len(ids)
        parse = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(
            f"{path.name}: {rows} rows x {len(header.columns)} columns, {text / 1e6:.0f} MB text "
            f"({path.stat().st_size / 1e6:.0f} MB gzipped)"
        )
        print(f"  decompression alone: {inflate:.1f} s ({text / 1e6 / inflate:.0f} MB/s)")
        print(
            f"  decompression + parsing to float32 (pyarrow, streamed): {parse:.1f} s "
            f"({text / 1e6 / parse:.0f} MB/s of text, {rows / parse:.0f} rows/s, "
            f"{rows * len(header.columns) / parse / 1e6:.0f} M cells/s); peak RSS so far {peak:.2f} GiB"
        )


if __name__ == "__main__":
    main()
