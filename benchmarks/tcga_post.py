"""The stages after a fit at full size: the nine metrics and the run artifacts, time and memory.

    python benchmarks/tcga_post.py experiments/tcga.yaml --set data.root=/work/bigdata/tcga_full \\
        --set tracking.store=/work/bigdata/b2/store

It loads the experiment's prepared data through the store's data cache (a hit after one ``omibench
run`` or ``omibench data prepare``), makes a stand-in prediction of the test part's shape (the
training mean per gene plus noise; the cost of scoring and writing does not depend on the values),
then times ``omibench.metrics.score`` and ``omibench.run.artifacts.write_run_artifacts`` (the test
predictions parquet, genes x samples, the per-gene and per-sample R² tables and the figures) and
prints the process's peak resident memory after each.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from omibench.config import load_config
from omibench.contract.registry import load_registry
from omibench.metrics.reconstruction import score
from omibench.run.artifacts import write_run_artifacts
from omibench.run.preparation import prepare

GIB = 1024**3


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB  # ru_maxrss is KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()

    cfg = load_config(args.config, args.overrides)
    t0 = time.perf_counter()
    prepared = prepare(cfg, load_registry(), cfg.tracking.store / "cache")
    test = prepared.test
    print(
        f"prepared data (cache): test {test.a.shape} in {time.perf_counter() - t0:.1f}s, "
        f"peak RSS {peak_rss_gib():.2f} GiB"
    )

    rng = np.random.default_rng(0)
    mean = prepared.train.a.mean(axis=0, dtype=np.float64)  # buffered: no float64 copy of the part
    prediction = (mean + rng.normal(0.0, 1.0, test.a.shape)).astype(np.float32)
    print(f"stand-in prediction {prediction.shape}, peak RSS {peak_rss_gib():.2f} GiB")

    t0 = time.perf_counter()
    scores = score(np.asarray(test.a), prediction)
    print(f"nine metrics: {time.perf_counter() - t0:.1f}s, peak RSS {peak_rss_gib():.2f} GiB")

    with tempfile.TemporaryDirectory(dir=cfg.tracking.store) as tmp:
        t0 = time.perf_counter()
        write_run_artifacts(Path(tmp), test, prediction, scores)
        elapsed = time.perf_counter() - t0
        size = (Path(tmp) / "predictions_test.parquet").stat().st_size / 1e6
        print(f"artifacts: {elapsed:.1f}s (predictions_test.parquet {size:.0f} MB), peak RSS {peak_rss_gib():.2f} GiB")


if __name__ == "__main__":
    main()
