"""Write cohort files in the real UCSC Xena GDC Pan-Cancer layout, at the real size or a fraction.

    python benchmarks/xena_layout.py /work/bigdata/tcga_full                # full size (~12 GB gzipped, long)
    python benchmarks/xena_layout.py /work/bigdata/tcga_20 --row-scale 20   # real sample counts, 1/20 of the rows

Then ``omibench data prepare experiments/tcga.yaml --set data.root=DIR`` reads them. What is written
(public facts about the real files, see issue #21 / README):

- ``GDC-PANCAN.methylation450.tsv.gz``: 485,577 rows (the 450K probe ids of the annotation table
  ``hm450_probe_locations_hg19.csv.gz`` plus ``rs`` SNP probes; sorted) x 9,736 sample columns, beta
  values with four decimals, ``NA`` cells (a few probes mostly missing, scattered NA elsewhere);
  first header cell ``Composite Element REF``.
- ``GDC-PANCAN.htseq_fpkm.tsv.gz``: 60,483 versioned Ensembl ids x 11,068 columns, log2(FPKM+1)
  with three decimals, many zeros.
- Columns are 16-character barcodes (``TCGA-XX-YYYY-01A``), ``TARGET-...`` columns first, some
  samples with a second vial (``-01B``); 9,081 samples pair across the files.
- ``sample_id_testset.tsv``: 1,817 paired barcodes in OmiTrans's format (CRLF, no header, no final
  line break); 15 of its samples have a second vial in the data that is not listed.
- ``GDC-PANCAN.basic_phenotype.tsv.gz``: one row per barcode of either file: ``sample``,
  ``project_id`` (the cancer type, e.g. ``TCGA-BRCA``), ``sample_type``.

``--row-scale K`` divides the number of probe and gene rows by K (sample counts stay real). Values
have a per-project structure so the files are not pure noise; gzip level 1 (``--level``) keeps
writing fast (the real files use a higher level; reading cost is the same).
"""

from __future__ import annotations

import argparse
import gzip
import string
import time
from pathlib import Path

import numpy as np
import pandas as pd

ANNOTATION = Path(__file__).resolve().parents[2] / "shared" / "data" / "annotation"
N_PROBES, N_METH, N_GENES, N_EXPR, N_PAIRED, N_TEST, N_SPLIT_VIALS = 485_577, 9_736, 60_483, 11_068, 9_081, 1_817, 15
PROJECTS = [
    "ACC",
    "BLCA",
    "BRCA",
    "CESC",
    "CHOL",
    "COAD",
    "DLBC",
    "ESCA",
    "GBM",
    "HNSC",
    "KICH",
    "KIRC",
    "KIRP",
    "LAML",
    "LGG",
    "LIHC",
    "LUAD",
    "LUSC",
    "MESO",
    "OV",
    "PAAD",
    "PCPG",
    "PRAD",
    "READ",
    "SARC",
    "SKCM",
    "STAD",
    "TGCT",
    "THCA",
    "THYM",
    "UCEC",
    "UCS",
    "UVM",
]


def barcodes(rng: np.random.Generator) -> tuple[list[str], list[str], list[str], dict[str, str]]:
    """Column ids of both files (16-character barcodes), the test list, and each sample's project."""
    alnum = np.array(list(string.ascii_uppercase + string.digits))
    tss = list(dict.fromkeys("".join(rng.choice(alnum, 2)) for _ in range(400)))
    project_of = {t: PROJECTS[i % len(PROJECTS)] for i, t in enumerate(tss)}
    meth_target = [f"TARGET-{rng.integers(10, 52)}-P{''.join(rng.choice(alnum, 5))}-09A" for _ in range(10)]
    expr_target = [f"TARGET-{rng.integers(10, 52)}-P{''.join(rng.choice(alnum, 5))}-01A" for _ in range(200)]
    n_second_meth, n_second_expr = 40, 20
    n_meth_only = N_METH - len(meth_target) - N_PAIRED - n_second_meth
    n_expr_only = N_EXPR - len(expr_target) - N_PAIRED - n_second_expr
    patients: set[str] = set()
    while len(patients) < N_PAIRED + n_meth_only + n_expr_only:
        patients.add(f"TCGA-{rng.choice(tss)}-{''.join(rng.choice(alnum, 4))}")
    order = sorted(patients)
    kinds = rng.choice(["01", "11", "06", "03"], size=len(order), p=[0.88, 0.08, 0.03, 0.01])
    samples = [f"{p}-{k}" for p, k in zip(order, kinds)]
    rng.shuffle(samples)
    paired = samples[:N_PAIRED]
    meth_only = samples[N_PAIRED : N_PAIRED + n_meth_only]
    expr_only = samples[N_PAIRED + n_meth_only :]
    second_meth, second_expr = paired[:n_second_meth], paired[n_second_meth : n_second_meth + n_second_expr]
    meth_tcga = [s + "A" for s in paired + meth_only] + [s + "B" for s in second_meth]
    expr_tcga = [s + "A" for s in paired + expr_only] + [s + "B" for s in second_expr]
    rng.shuffle(meth_tcga)
    rng.shuffle(expr_tcga)
    # the test list: 15 samples listed by their first vial while the second is left out; the rest anywhere
    rest = paired[n_second_meth + n_second_expr :]
    test = [s + "A" for s in second_meth[:N_SPLIT_VIALS]]
    test += [s + "A" for s in rng.choice(rest, N_TEST - N_SPLIT_VIALS, replace=False).tolist()]
    rng.shuffle(test)
    projects = {s: project_of[s[5:7]] for s in samples}
    return meth_target + meth_tcga, expr_target + expr_tcga, test, projects


def feature_ids(kind: str, n_rows: int, rng: np.random.Generator) -> list[str]:
    if kind == "meth":
        table = ANNOTATION / "hm450_probe_locations_hg19.csv.gz"
        probes = pd.read_csv(table, usecols=["probe"])["probe"].astype(str).tolist() if table.is_file() else []
        probes = list(dict.fromkeys(probes))
        probes += [f"cg{90_000_000 + i:08d}" for i in range(max(0, N_PROBES - 65 - len(probes)))]
        probes = probes[: N_PROBES - 65] + [f"rs{1_000_000 + 7919 * i}" for i in range(65)]
        chosen = sorted(rng.choice(probes, n_rows, replace=False).tolist()) if n_rows < len(probes) else sorted(probes)
        return chosen
    table = ANNOTATION / "gene_location_hg19.csv.gz"
    genes = (
        pd.read_csv(table, usecols=["ensembl_gene_id"])["ensembl_gene_id"].astype(str).tolist()
        if table.is_file()
        else []
    )
    genes = [g for g in dict.fromkeys(genes) if g.startswith("ENSG")]
    genes += [f"ENSG{80_000_000_000 + i:011d}" for i in range(max(0, N_GENES - len(genes)))]
    genes = genes[:N_GENES]
    chosen = sorted(rng.choice(genes, n_rows, replace=False).tolist()) if n_rows < len(genes) else sorted(genes)
    return [f"{g}.{1 + int(g[-2:], 16) % 9}" for g in chosen]


def format_rows(ids: list[str], values: np.ndarray, decimals: int) -> bytes:
    """Tab-separated text, vectorised: ``id\\tv\\tv...\\n`` per row; NaN as ``NA``; values in [0, 100)
    with ``decimals`` decimals, trailing zeros dropped (``0.5``, ``12.25``, ``0``)."""
    rows, cols = values.shape
    width = 2 + 1 + decimals  # two integer digits, the point, the decimals
    cell = np.zeros((rows, cols, 1 + width), dtype=np.uint8)  # 0 = nothing (removed at the end)
    cell[:, :, 0] = ord("\t")
    nan = np.isnan(values)
    q = np.rint(np.nan_to_num(values) * 10**decimals).astype(np.int64)
    ip, frac = q // 10**decimals, q % 10**decimals
    tens, ones = ip // 10 % 10, ip % 10
    cell[:, :, 1] = np.where(ip >= 10, ord("0") + tens, 0)
    cell[:, :, 2] = ord("0") + ones
    cell[:, :, 3] = np.where(frac > 0, ord("."), 0)
    for j in range(decimals):
        digit = frac // 10 ** (decimals - 1 - j) % 10
        shown = frac % 10 ** (decimals - j) != 0
        cell[:, :, 4 + j] = np.where(shown, ord("0") + digit, 0)
    cell[nan, 1:] = 0
    cell[nan, 1], cell[nan, 2] = ord("N"), ord("A")
    id_width = max(len(i) for i in ids)
    head = np.frombuffer(np.array(ids, dtype=f"S{id_width}").tobytes(), dtype=np.uint8).reshape(rows, id_width)
    line = np.concatenate([head, cell.reshape(rows, -1), np.full((rows, 1), ord("\n"), dtype=np.uint8)], axis=1)
    flat = line.ravel()
    return flat[flat != 0].tobytes()


def write_matrix(
    path: Path,
    first: str,
    columns: list[str],
    ids: list[str],
    kind: str,
    groups: np.ndarray,
    rng: np.random.Generator,
    level: int,
    chunk: int = 500,
) -> tuple[int, float]:
    """Stream the matrix out in row chunks; returns (bytes of text, seconds)."""
    t0 = time.perf_counter()
    n_groups = int(groups.max()) + 1
    text = 0
    with gzip.open(path, "wb", compresslevel=level) as fh:
        head = ("\t".join([first, *columns]) + "\n").encode()
        fh.write(head)
        text += len(head)
        for start in range(0, len(ids), chunk):
            rows = ids[start : start + chunk]
            n = len(rows)
            effect = rng.normal(size=(n, n_groups)).astype(np.float32)[:, groups]
            noise = rng.normal(size=(n, len(columns))).astype(np.float32)
            if kind == "meth":
                centre = rng.beta(0.4, 0.4, size=(n, 1)).astype(np.float32)
                spread = np.where(rng.random((n, 1)) < 0.1, 0.35, 0.03).astype(np.float32)
                values = np.clip(centre + spread * (0.8 * effect + 0.6 * noise), 0, 1)
                mostly_na = rng.random((n, 1)) < 0.02
                values[(rng.random(values.shape) < np.where(mostly_na, 0.4, 0.004))] = np.nan
                block = format_rows(rows, values, 4)
            else:
                mean = rng.uniform(0, 12, size=(n, 1)).astype(np.float32)
                sd = rng.uniform(0.2, 2.0, size=(n, 1)).astype(np.float32)
                values = np.clip(mean + sd * (0.8 * effect + 0.6 * noise), 0, 25)
                silent = rng.random((n, 1)) < 0.3
                values = np.where(silent & (rng.random(values.shape) < 0.9), 0, values)
                block = format_rows(rows, values, 3)
            fh.write(block)
            text += len(block)
    return text, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder to write (outside the repository)")
    parser.add_argument("--row-scale", type=int, default=1, help="divide probe and gene rows by this (default 1: full)")
    parser.add_argument("--level", type=int, default=1, help="gzip level (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    meth, expr, test, projects = barcodes(rng)

    def project(barcode: str) -> str:
        return "TARGET-" + barcode.split("-")[1] if barcode.startswith("TARGET") else "TCGA-" + projects[barcode[:15]]

    for kind, fname, first, n_rows, cols in (
        ("meth", "GDC-PANCAN.methylation450.tsv.gz", "Composite Element REF", N_PROBES, meth),
        ("expr", "GDC-PANCAN.htseq_fpkm.tsv.gz", "Ensembl_ID", N_GENES, expr),
    ):
        names = sorted({project(c) for c in cols})
        groups = np.array([names.index(project(c)) for c in cols])
        rows = feature_ids(kind, max(1, n_rows // args.row_scale), rng)
        text, seconds = write_matrix(args.out / fname, first, list(cols), rows, kind, groups, rng, args.level)
        size = (args.out / fname).stat().st_size
        print(
            f"{fname}: {len(rows)} rows x {len(cols)} columns, {text / 1e9:.2f} GB text, {size / 1e9:.2f} GB gzipped, "
            f"{seconds:.0f} s",
            flush=True,
        )
    (args.out / "sample_id_testset.tsv").write_bytes("\r\n".join(test).encode())
    every = list(dict.fromkeys([*meth, *expr]))
    kinds = {
        "01": "Primary Tumor",
        "11": "Solid Tissue Normal",
        "06": "Metastatic",
        "03": "Primary Blood Derived Cancer",
        "09": "Primary Blood Derived Cancer - Bone Marrow",
    }
    pheno = pd.DataFrame(
        {
            "sample": every,
            "project_id": [project(s) for s in every],
            "sample_type": [kinds.get(s.split("-")[3][:2], "Other") for s in every],
        }
    )
    pheno.to_csv(args.out / "GDC-PANCAN.basic_phenotype.tsv.gz", sep="\t", index=False)
    print(f"sample_id_testset.tsv: {len(test)} ids; phenotype table: {len(pheno)} rows", flush=True)


if __name__ == "__main__":
    main()
