"""Similarity, nearest-neighbour search, vector arithmetic and a 2-D map, from scratch in torch.

An embedding model maps text to a vector; nearby vectors mean similar text. Everything this tab
does with those vectors is a few lines of linear algebra:

- dot product a · b = Σ_i a_i b_i; cosine = a · b / (‖a‖ ‖b‖); Euclidean distance ‖a − b‖;
- top-k search: score the query against every row of the index, keep the k best;
- analogies: king − man + woman is a weighted sum of vectors, then a top-k search;
- a 2-D map: principal component analysis, the two directions of largest variance.

References:
- T. Mikolov, W. Yih & G. Zweig, "Linguistic Regularities in Continuous Space Word
  Representations" (NAACL 2013): analogies as vector offsets, scored by cosine (3CosAdd).
- N. Reimers & I. Gurevych, "Sentence-BERT" (EMNLP 2019): sentence embeddings compared by
  cosine; `sentence_transformers.util` is the library our functions are checked against.
- I. T. Jolliffe, *Principal Component Analysis* (2002), §3.5: PCA through the SVD of the
  centred data.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

MEASURES = ("cosine", "dot", "euclidean")
EPS = 1e-12  # a zero vector has no direction: its cosine with anything is 0, not NaN
DIFFERENCE_BUDGET = 1 << 24  # elements of one block of pairwise differences: 64 MB in float32


def _rows(x: Tensor) -> Tensor:
    """A single vector (D,) as a batch of one (1, D)."""
    return x.unsqueeze(0) if x.dim() == 1 else x


def norms(x: Tensor) -> Tensor:
    """‖x_i‖ = √(x_i · x_i) for each vector along the last axis: (..., D) -> (...)."""
    return (x * x).sum(-1).sqrt()


def normalize(x: Tensor) -> Tensor:
    """Each row scaled to length 1 (what MiniLM's last layer, Normalize, does)."""
    return x / norms(x).clamp_min(EPS).unsqueeze(-1)


def dot_score(a: Tensor, b: Tensor) -> Tensor:
    """a_i · b_j for every pair: (N, D) x (M, D) -> (N, M). Multiply matching elements, sum."""
    return _rows(a) @ _rows(b).T


def cos_sim(a: Tensor, b: Tensor) -> Tensor:
    """cos θ_ij = a_i · b_j / (‖a_i‖ ‖b_j‖): the dot product of the unit vectors."""
    return dot_score(normalize(_rows(a)), normalize(_rows(b)))


def euclidean_distance(a: Tensor, b: Tensor) -> Tensor:
    """‖a_i − b_j‖ for every pair: (N, D) x (M, D) -> (N, M), from the differences themselves.

    The textbook shortcut ‖a‖² + ‖b‖² − 2 a · b is one matrix product, far faster for
    a batch of queries, but it subtracts nearly equal large numbers and cancels catastrophically:
    in float32 a vector's distance to itself comes out near 0.02 instead of 0 at unit scale in
    384 dimensions, and ten times that at scale 10. torch.cdist, and so sentence-transformers'
    euclidean_sim, takes that shortcut once either side has more than 25 rows. Subtracting first
    makes equal vectors exactly 0 apart and costs about the same for the tab's single query; the
    (n, M, D) differences are built a few rows of a at a time to bound memory.
    """
    a, b = _rows(a), _rows(b)
    step = max(1, DIFFERENCE_BUDGET // max(1, b.numel()))
    # each block: (n, 1, D) − (M, D) -> (n, M, D) differences -> (n, M) lengths
    return torch.cat([norms(rows.unsqueeze(1) - b) for rows in a.split(step)])


def similarity(a: Tensor, b: Tensor, measure: str, b_norms: Tensor | None = None) -> Tensor:
    """Scores where higher is always more similar: Euclidean distance counts as −distance.

    ``b_norms`` are the rows' lengths when the caller already has them (an index does), so a
    cosine search does not recompute 20 000 square roots per query.
    """
    if measure == "dot":
        return dot_score(a, b)
    if measure == "cosine":
        if b_norms is None:
            return cos_sim(a, b)
        return dot_score(normalize(_rows(a)), b) / b_norms.clamp_min(EPS).unsqueeze(0)
    if measure == "euclidean":
        return -euclidean_distance(a, b)
    raise ValueError(f"unknown measure {measure!r}: choose one of {', '.join(MEASURES)}")


def top_k(
    query: Tensor,
    corpus: Tensor,
    k: int,
    measure: str = "cosine",
    exclude: list[list[int]] | None = None,
    corpus_norms: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """The k corpus rows most similar to each query: (Q, D) x (N, D) -> scores, indices (Q, k),
    best first. ``exclude[q]`` lists rows query q may not return (its own input words)."""
    scores = similarity(query, corpus, measure, corpus_norms)  # (Q, N)
    if exclude:
        rows = [q for q, banned in enumerate(exclude) for _ in banned]
        cols = [i for banned in exclude for i in banned]
        where = torch.tensor([rows, cols], dtype=torch.long, device=scores.device)  # (2, E)
        scores.index_put_(tuple(where), scores.new_tensor(-torch.inf))  # never chosen
    return scores.topk(min(k, corpus.shape[0]), dim=-1)


def combine(vectors: Tensor, weights: Tensor) -> Tensor:
    """Σ_i w_i v_i: the vector an expression like 1·king − 1·man + 1·woman stands for."""
    return (weights.to(vectors.dtype).unsqueeze(-1) * vectors).sum(0)  # (T, D) -> (D,)


@dataclass(frozen=True)
class DotProduct:
    """Every intermediate value of q · w, for the tab to show."""

    products: Tensor  # q_i w_i, one per dimension (D,)
    dot: float  # Σ_i q_i w_i
    q_norm: float  # ‖q‖
    w_norm: float  # ‖w‖
    cosine: float  # dot / (‖q‖ ‖w‖)
    distance: float  # ‖q − w‖
    largest: list[int]  # the dimensions whose products add the most, largest first


def dot_product_parts(q: Tensor, w: Tensor, show: int = 5) -> DotProduct:
    """q · w taken apart: the products, their sum, both lengths, the cosine and the distance."""
    products = q * w
    q_norm, w_norm = float(norms(q)), float(norms(w))
    dot = float(products.sum())
    return DotProduct(
        products=products,
        dot=dot,
        q_norm=q_norm,
        w_norm=w_norm,
        cosine=dot / max(q_norm * w_norm, EPS),
        distance=float(norms(q - w)),
        largest=products.topk(show).indices.tolist(),
    )


@dataclass(frozen=True)
class PCA:
    """A fitted two-component PCA."""

    mean: Tensor  # (D,) subtracted before projecting
    components: Tensor  # (2, D) unit directions of largest variance, orthogonal
    explained: Tensor  # (2,) share of the total variance along each component

    def transform(self, x: Tensor) -> Tensor:
        """(N, D) -> (N, 2). Linear after centring, so a parallelogram stays a parallelogram."""
        return (_rows(x) - self.mean) @ self.components.T


def pca_2d(x: Tensor) -> PCA:
    """PCA of the rows of x (N, D), N ≥ 2, from the SVD of the centred data.

    X − μ = U S Vᵀ: the rows of Vᵀ are the principal directions and S² / (N − 1) the variance
    along each. A direction's sign is arbitrary; we make its largest-magnitude loading positive
    so the map does not flip when a word is added.
    """
    mean = x.mean(0)
    centred = x - mean  # (N, D)
    _, s, vt = torch.linalg.svd(centred, full_matrices=False)  # vt: (min(N, D), D)
    components = vt[:2]
    if components.shape[0] < 2:  # two points span one direction: the second is any orthogonal
        components = torch.cat([components, torch.zeros_like(components)])
    pivot = components.abs().argmax(-1, keepdim=True)  # (2, 1)
    components = components * torch.where(components.gather(-1, pivot) < 0, -1.0, 1.0)
    variance = s.square()
    total = variance.sum().clamp_min(EPS)
    explained = torch.zeros(2, dtype=x.dtype, device=x.device)
    explained[: min(2, len(variance))] = (variance[:2] / total).to(x.dtype)
    return PCA(mean, components, explained)
