"""``local``: each gene from the CpGs near it, plus a few global components of the methylation profile.

The gene-local family of methylation -> expression models (geneEXPLORE, Kim et al. 2020; MethNet,
Jin et al. 2023): a gene's expression is regressed on the CpGs within a window of the gene, not
on the whole methylome. Here, per gene g:

    y_g = mean_g + Z β_g + X_S(g) c_g

- X: CpG betas standardised with their training mean and SD.
- Z: the top ``n_global`` principal components of X (training split), shared by all genes; they
  carry what is global in the methylation profile (tumour purity, tissue type, batch), which a
  window of CpGs alone cannot see. Unpenalised.
- S(g): the CpGs within ``window`` base pairs of the gene's start on its chromosome (at most
  ``max_cpgs``, nearest first); where the methylation is already gene-level (a B feature is named
  like the gene), the gene's own feature instead. Ridge-penalised with λ = alpha * n_train.
- Genes with no CpG in the window get the global part only. Where no gene at all has a located
  CpG the translator refuses to run (``skip_reason``), unless ``require_locations: false``.

The global part is unpenalised, so by the Frisch-Waugh-Lovell theorem the fit first regresses the
genes and the CpGs on Z once, then fits each gene's ridge on the residuals. The number of global
components, the window and alpha (one of each for all genes) are chosen on the validation split:
for each number of components, every window of the grid and every alpha are scored for every gene
from the gene's one small Gram matrix (a window's CpGs are a prefix of the nearest-first list).

Locations come from a probe table and a gene table read with :mod:`omibench.data.annotation`
(``probe_table``, ``gene_table``: paths, e.g. ``../shared/data/annotation/hm450_probe_locations_hg19.csv.gz``
and ``gene_location_hg19.csv.gz``). Gene positions are the table's start position (the TSS of
plus-strand genes, the 3' end of minus-strand ones); a window of 10 kb or more covers the body of
most genes either way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.linalg
import scipy.sparse
from sklearn.utils.extmath import randomized_svd

from omibench import FitContext, PairedData, PluginError, Translator, hookimpl, load_locations

__all__ = ["Local", "gene_neighbourhoods"]


def _key(feature: str) -> str:
    return re.sub(r"\.\d+$", "", feature) if feature.startswith("ENSG") else feature  # Ensembl version dropped


def gene_neighbourhoods(
    b_features: np.ndarray,
    a_features: np.ndarray,
    probe_table: str | None,
    gene_table: str | None,
    max_window: int,
    max_cpgs: int,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per gene (in ``a_features`` order): (B feature positions, their distance in bp), nearest first,
    within ``max_window`` and at most ``max_cpgs``. A gene named like a B feature gets that feature
    at distance 0 (gene-level methylation). A gene or CpG without a location gets nothing."""
    own = {str(f): i for i, f in enumerate(b_features.tolist())}
    out: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros(0, np.int64), np.zeros(0, np.int64)) for _ in a_features]
    unplaced = []
    for g, name in enumerate(a_features.tolist()):
        if str(name) in own:
            out[g] = (np.array([own[str(name)]], np.int64), np.zeros(1, np.int64))
        else:
            unplaced.append(g)
    if not unplaced or probe_table is None or gene_table is None:
        return out
    probes, genes = load_locations(probe_table), load_locations(gene_table)
    located = [(probes[str(f)], i) for i, f in enumerate(b_features.tolist()) if str(f) in probes]
    by_chrom: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for chrom in {loc[0] for loc, _ in located}:
        pos = np.array([loc[1] for loc, _ in located if loc[0] == chrom], np.int64)
        idx = np.array([i for loc, i in located if loc[0] == chrom], np.int64)
        order = np.argsort(pos, kind="stable")
        by_chrom[chrom] = (pos[order], idx[order])
    for g in unplaced:
        loc = genes.get(_key(str(a_features[g])))
        if loc is None or loc[0] not in by_chrom:
            continue
        pos, idx = by_chrom[loc[0]]
        lo, hi = np.searchsorted(pos, loc[1] - max_window), np.searchsorted(pos, loc[1] + max_window, side="right")
        dist = np.abs(pos[lo:hi] - loc[1])
        near = np.argsort(dist, kind="stable")[:max_cpgs]
        out[g] = (idx[lo:hi][near], dist[near])
    return out


class Local(Translator):
    """Per-gene ridge on the CpGs near the gene plus unpenalised global components.

    Data contract: float32 (n, n_cpgs) in, float32 (n, n_genes) out on the scale of ``train.a``.
    Needs feature names that can be placed (probe and gene tables, or gene-level methylation);
    ``skip_reason`` says so in one line otherwise. The validation split chooses window and alpha.
    """

    name = "local"
    default_params: ClassVar[Mapping[str, Any]] = {
        "probe_table": None,  # path: CpG id, chromosome, position (e.g. hm450_probe_locations_hg19.csv.gz)
        "gene_table": None,  # path: gene id/symbol, chromosome, start (e.g. gene_location_hg19.csv.gz)
        "window": None,  # bp either side of the gene start; None: choose on validation from window_grid
        "window_grid": [10_000, 50_000, 200_000, 1_000_000],
        "max_cpgs": 50,  # nearest CpGs kept per gene
        "n_global": None,  # global principal components of the methylation profile; None: choose from the grid
        "n_global_grid": [5, 20, 50],
        "alpha": None,  # λ / n_train; None: choose on validation from alpha_grid
        "alpha_grid": [1e-3, 100.0],
        "n_alphas": 11,
        "require_locations": True,  # False: genes without located CpGs keep the global part only (no refusal)
    }
    # the conformance cohort's features carry no locations: check the contract on the global part
    check_params: ClassVar[Mapping[str, Any]] = {"n_global_grid": [1, 2], "n_alphas": 3, "require_locations": False}
    seed_dependent: ClassVar[bool] = False  # the randomized SVD is seeded with a constant

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "window": trial.suggest_int("window", 5_000, 2_000_000, log=True),
            "n_global": trial.suggest_int("n_global", 0, 20),
            "alpha": trial.suggest_float("alpha", 1e-4, 100.0, log=True),
        }

    @classmethod
    def skip_reason(cls, params: Mapping[str, Any], train: PairedData, val: PairedData) -> str | None:
        full = {**cls.default_params, **params}
        free = [k for k in ("window", "alpha", "n_global") if full[k] is None]
        if free and val.n_samples == 0:
            return (
                f"local chooses {', '.join(free)} on the validation split, which is empty: set split.val_fraction > 0"
            )
        hoods = gene_neighbourhoods(
            train.b_features,
            train.a_features,
            full["probe_table"],
            full["gene_table"],
            _max_window(full),
            int(full["max_cpgs"]),
        )
        if full["require_locations"] and not any(len(idx) for idx, _ in hoods):
            how = (
                "the probe and gene tables place no gene near a CpG of the data"
                if full["probe_table"] and full["gene_table"]
                else "give probe_table and gene_table "
                "(e.g. ../shared/data/annotation/hm450_probe_locations_hg19.csv.gz "
                "and gene_location_hg19.csv.gz), or gene-level methylation named like the genes"
            )
            return f"local: no gene has located methylation features: {how}"
        return None

    def fit(self, train: PairedData, val: PairedData, context: FitContext) -> Local:
        p = self.params
        reason = self.skip_reason(p, train, val)
        if reason:
            raise PluginError(reason)
        hoods = gene_neighbourhoods(
            train.b_features, train.a_features, p["probe_table"], p["gene_table"], _max_window(p), int(p["max_cpgs"])
        )
        n = train.n_samples
        x = train.b.astype(np.float32)
        self.x_mean_ = x.mean(axis=0, dtype=np.float64).astype(np.float32)
        sd = x.std(axis=0, dtype=np.float64)
        self.x_scale_ = np.where(sd > 0, sd, 1.0).astype(np.float32)
        x -= self.x_mean_
        x /= self.x_scale_
        self.y_mean_ = train.a.mean(axis=0, dtype=np.float64).astype(np.float32)
        y = train.a - self.y_mean_  # float32: at the paper's 9,081 x 60,483 a float64 copy alone is 4.4 GB
        cap = max(0, min(x.shape) - 1)
        ks = sorted({min(int(k), cap) for k in ([p["n_global"]] if p["n_global"] is not None else p["n_global_grid"])})
        if ks[-1]:
            _, _, vt = randomized_svd(x, ks[-1], random_state=0)
            v = np.ascontiguousarray(vt.T, dtype=np.float32)  # (p, k), orthonormal columns
        else:
            v = np.zeros((x.shape[1], 0), np.float32)
        z = (x @ v).astype(np.float64)
        windows = [int(p["window"])] if p["window"] is not None else sorted(int(w) for w in p["window_grid"])
        alphas = (
            np.array([float(p["alpha"])])
            if p["alpha"] is not None
            else np.geomspace(float(p["alpha_grid"][0]), float(p["alpha_grid"][1]), int(p["n_alphas"]))
        )
        k, wi, ai = ks[0], 0, 0
        if len(ks) * len(windows) * len(alphas) > 1:
            xv = self._scaled(val.b)
            zv = xv @ v.astype(np.float64)
            yv = (val.a - self.y_mean_).astype(np.float64)
            best = np.inf
            for kk in ks:
                beta, e, gamma, xr = _residualise(x, z[:, :kk], y)
                sse = _window_sse(
                    xr,
                    e,
                    np.asfortranarray(xv - zv[:, :kk] @ gamma.astype(np.float64)),
                    yv - zv[:, :kk] @ beta,
                    hoods,
                    windows,
                    alphas,
                    context,
                )
                del xr
                w_best, a_best = np.unravel_index(int(np.argmin(sse)), sse.shape)
                if sse[w_best, a_best] < best:
                    best, k, wi, ai = float(sse[w_best, a_best]), kk, int(w_best), int(a_best)
            self.val_mse_ = best / max(1, yv.size)
        self.window_, self.alpha_, self.n_global_ = windows[wi], float(alphas[ai]), k
        self.v_ = np.ascontiguousarray(v[:, :k])
        beta, e, gamma, x = _residualise(x, z[:, :k], y)
        cpg_idx, coefs, offsets = [], [], [0]
        pc_coef = beta.copy()
        for g, (idx, dist) in enumerate(hoods):
            sel = idx[: int(np.searchsorted(dist, self.window_, side="right"))]
            if len(sel):
                gram, rhs = _gene_gram(x, sel, e[:, g])
                c = np.linalg.solve(gram + self.alpha_ * n * np.eye(len(sel)), rhs)
                pc_coef[:, g] -= gamma[:, sel].astype(np.float64) @ c  # the CpGs' global part, taken back out
                cpg_idx.append(sel)
                coefs.append(c)
            offsets.append(offsets[-1] + len(sel))
        self.cpg_idx_ = np.concatenate(cpg_idx).astype(np.int64) if cpg_idx else np.zeros(0, np.int64)
        self.coefs_ = np.concatenate(coefs).astype(np.float32) if coefs else np.zeros(0, np.float32)
        self.offsets_ = np.array(offsets, np.int64)
        self.pc_coef_ = pc_coef.astype(np.float32)
        return self

    def _scaled(self, b: np.ndarray) -> np.ndarray:
        return (np.asarray(b, dtype=np.float64) - self.x_mean_) / self.x_scale_

    def predict(self, b: np.ndarray) -> np.ndarray:
        xs = self._scaled(b).astype(np.float32)
        out = (xs @ self.v_) @ self.pc_coef_ + self.y_mean_
        # the local coefficients are a sparse (CpGs x genes) matrix in CSC layout: column g holds gene g's CpGs
        shape = (len(self.x_mean_), len(self.y_mean_))
        local = scipy.sparse.csc_matrix((self.coefs_, self.cpg_idx_, self.offsets_), shape=shape)
        out += np.asarray(local.T @ xs.T).T
        return out.astype(np.float32)

    def chosen(self) -> dict[str, Any]:
        per_gene = np.diff(self.offsets_)
        return {
            "window": self.window_,
            "alpha": self.alpha_,
            "n_global": self.n_global_,
            "genes_with_cpgs": int((per_gene > 0).sum()),
            "median_cpgs_per_gene": float(np.median(per_gene)),
        }

    def get_state(self) -> dict[str, np.ndarray]:
        return {
            "x_mean": self.x_mean_,
            "x_scale": self.x_scale_,
            "v": self.v_,
            "y_mean": self.y_mean_,
            "pc_coef": self.pc_coef_,
            "cpg_idx": self.cpg_idx_,
            "coefs": self.coefs_,
            "offsets": self.offsets_,
            "scalars": np.array([self.window_, self.alpha_, self.n_global_], dtype=np.float64),
        }

    def set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.x_mean_, self.x_scale_ = state["x_mean"], state["x_scale"]
        self.v_, self.y_mean_ = state["v"], state["y_mean"]
        self.pc_coef_, self.cpg_idx_, self.coefs_, self.offsets_ = (
            state["pc_coef"],
            state["cpg_idx"],
            state["coefs"],
            state["offsets"],
        )
        window, self.alpha_, n_global = (float(v) for v in state["scalars"])
        self.window_, self.n_global_ = int(window), int(n_global)


def _max_window(params: Mapping[str, Any]) -> int:
    return int(params["window"]) if params["window"] is not None else max(int(w) for w in params["window_grid"])


def _residualise(
    x: np.ndarray, z: np.ndarray, y: np.ndarray, block: int = 4096
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Regress the genes y and the CpGs x on the global components z (least squares; z may have no
    columns): (β (k, g) float64, gene residuals e, Γ (k, p), CpG residuals). Residuals are float32 and
    Fortran-ordered (each gene gathers a few columns), computed in column blocks so that no float64
    or full-size temporary of x or y is made."""
    pinv = (np.linalg.pinv(z) if z.shape[1] else np.zeros((0, len(z)))).astype(np.float32)
    z32 = z.astype(np.float32)
    beta, gamma = pinv @ y, pinv @ x
    xr = np.empty(x.shape, np.float32, order="F")
    e = np.empty(y.shape, np.float32, order="F")
    for out, full, coef in ((xr, x, gamma), (e, y, beta)):
        for start in range(0, full.shape[1], block):
            cols = slice(start, start + block)
            out[:, cols] = full[:, cols] - z32 @ coef[:, cols]
    return beta.astype(np.float64), e, gamma, xr


def _window_sse(
    x: np.ndarray,
    e: np.ndarray,
    xv: np.ndarray,
    ev: np.ndarray,
    hoods: list[tuple[np.ndarray, np.ndarray]],
    windows: list[int],
    alphas: np.ndarray,
    context: FitContext,
) -> np.ndarray:
    """Validation SSE over all genes of every (window, alpha): x, e the training CpG and gene residuals,
    xv, ev the validation ones."""
    n = len(x)
    sse = np.zeros((len(windows), len(alphas)))
    for g, (idx, dist) in enumerate(context.progress(hoods, total=len(hoods), desc="local: windows")):
        # CpGs come nearest first, so each window's CpGs are a prefix: one Gram matrix per gene
        gram, rhs = _gene_gram(x, idx, e[:, g])
        xvg = xv[:, idx]
        for w, m in enumerate(np.searchsorted(dist, windows, side="right")):
            if m == 0:
                sse[w] += float(ev[:, g] @ ev[:, g])
                continue
            evals, q = _eigh(gram[:m, :m])
            coef_q = (q.T @ rhs[:m])[None, :] / (evals[None, :] + alphas[:, None] * n)  # (a, m)
            sse[w] += (((xvg[:, :m] @ q) @ coef_q.T - ev[:, [g]]) ** 2).sum(axis=0)
    return sse


def _gene_gram(x: np.ndarray, cols: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """XᵀX and Xᵀe (float64) of the columns ``cols`` of x."""
    xg = x[:, cols].astype(np.float64)
    return xg.T @ xg, xg.T @ e


def _eigh(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (clipped at 0) and eigenvectors of a Gram matrix: the ridge solution for λ is
    Q (Qᵀ Xᵀe / (evals + λ))."""
    evals, q = scipy.linalg.eigh(gram, check_finite=False)
    return np.maximum(evals, 0.0), q


@hookimpl
def omibench_register_translators(register: Callable[[type[Translator]], Any]) -> None:
    register(Local)
