"""Our similarity, top-k search and PCA against sentence-transformers, torch and scikit-learn,
on fresh seeded random inputs, plus their invariants."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from sentence_transformers import util

from plugins.embeddings import embeddings as em

SEEDS = range(4)


def rand(seed: int, *shape: int, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("seed", SEEDS)
def test_similarities_match_sentence_transformers(seed):
    a, b = rand(seed, 7, 384), rand(seed + 100, 11, 384) * 3
    torch.testing.assert_close(em.cos_sim(a, b), util.cos_sim(a, b))
    torch.testing.assert_close(em.dot_score(a, b), util.dot_score(a, b))
    torch.testing.assert_close(em.euclidean_distance(a, b), -util.euclidean_sim(a, b))
    torch.testing.assert_close(em.cos_sim(a[0], b[0])[0, 0], F.cosine_similarity(a[0], b[0], 0))
    torch.testing.assert_close(em.normalize(a), F.normalize(a, dim=-1))


# torch.cdist subtracts first only when told to: past 25 rows it defaults to the matrix-product
# shortcut that euclidean_distance avoids (so does util.euclidean_sim, which calls cdist).
EXACT = "donot_use_mm_for_euclid_dist"


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_euclidean_distance_matches_cdist_and_is_zero_to_itself(seed, scale):
    a = rand(seed, 40, 384) * scale
    corpus = torch.cat([rand(seed + 100, 3000, 384) * scale, a])  # a's rows last
    ours = em.euclidean_distance(a, corpus)  # (40, 3040)
    torch.testing.assert_close(ours, torch.cdist(a, corpus, compute_mode=EXACT))
    assert torch.equal(ours[:, 3000:].diagonal(), torch.zeros(40))
    assert torch.equal(em.similarity(a, a, "euclidean").diagonal(), torch.zeros(40))


def test_euclidean_distance_in_blocks_equals_one_block(monkeypatch):
    a, b = rand(0, 9, 64), rand(1, 30, 64)
    whole = em.euclidean_distance(a, b)
    monkeypatch.setattr(em, "DIFFERENCE_BUDGET", 2 * b.numel())  # blocks of 2, 2, 2, 2, 1 rows
    assert torch.equal(em.euclidean_distance(a, b), whole)


def test_euclidean_distance_of_zeros_and_identical_vectors():
    zeros, v = torch.zeros(3, 8), rand(2, 8)
    assert torch.equal(em.euclidean_distance(zeros, zeros), torch.zeros(3, 3))
    assert em.euclidean_distance(torch.zeros(2), torch.tensor([3.0, 4.0])).item() == 5.0
    assert torch.equal(em.euclidean_distance(v, v.repeat(4, 1)), torch.zeros(1, 4))


# Inputs and expected values from sentence-transformers tests/util/test_similarity.py.
def test_upstream_euclidean_cases():
    a, b = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    root2 = 2**0.5
    torch.testing.assert_close(em.euclidean_distance(a, b), torch.tensor([[1.0, root2], [1.0, 0]]))
    pairs = em.euclidean_distance(torch.tensor([[1.0, 0.0], [1.0, 1.0]]), torch.zeros(2, 2))
    torch.testing.assert_close(pairs.diagonal(), torch.tensor([1.0, root2]))  # pairwise_euclidean


def test_upstream_dot_and_cosine_cases():
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    expected = torch.tensor([[1.0, 0.0, -1.0]])
    torch.testing.assert_close(em.cos_sim(a, b), expected)
    torch.testing.assert_close(em.dot_score(a, b), expected)
    paired = a.repeat(3, 1)  # pairwise_cos_sim / pairwise_dot_score: row i against row i
    torch.testing.assert_close(em.cos_sim(paired, b).diagonal(), expected[0])
    torch.testing.assert_close(em.dot_score(paired, b).diagonal(), expected[0])


def test_upstream_semantic_search_case():
    """Shapes, dtype and chunk sizes from sentence-transformers tests/util/test_retrieval.py."""
    query, corpus = rand(7, 20, 100, dtype=torch.float64), rand(8, 1000, 100, dtype=torch.float64)
    scores, ids = em.top_k(query, corpus, 10)
    found = util.semantic_search(query, corpus, top_k=10, query_chunk_size=5, corpus_chunk_size=17)
    assert ids.tolist() == [[h["corpus_id"] for h in hits] for hits in found]
    ref_scores = torch.tensor([[h["score"] for h in hits] for hits in found], dtype=torch.float64)
    torch.testing.assert_close(scores, ref_scores)


@pytest.mark.parametrize("measure", em.MEASURES)
def test_known_norms_change_nothing(measure):
    a, b = rand(0, 3, 64), rand(1, 50, 64) * 2
    torch.testing.assert_close(
        em.similarity(a, b, measure, em.norms(b)), em.similarity(a, b, measure)
    )


def test_dot_equals_cosine_on_unit_vectors_and_every_measure_ranks_alike():
    a, b = em.normalize(rand(2, 5, 384)), em.normalize(rand(3, 300, 384))
    torch.testing.assert_close(em.dot_score(a, b), em.cos_sim(a, b))
    orders = [em.similarity(a, b, m).argsort(-1) for m in em.MEASURES]
    assert all(torch.equal(orders[0], o) for o in orders[1:])


def _reference(query, corpus, k, score_function):
    found = util.semantic_search(query, corpus, top_k=k, score_function=score_function)
    scores = torch.tensor([[h["score"] for h in hits] for hits in found])
    ids = torch.tensor([[h["corpus_id"] for h in hits] for hits in found])
    return scores, ids


REFERENCE = {"cosine": util.cos_sim, "dot": util.dot_score, "euclidean": util.euclidean_sim}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("measure", em.MEASURES)
def test_top_k_matches_semantic_search(seed, measure):
    query, corpus = rand(seed, 6, 384), rand(seed + 50, 3000, 384) * (1 + rand(seed, 3000, 1).abs())
    scores, ids = em.top_k(query, corpus, 10, measure)
    ref_scores, ref_ids = _reference(query, corpus, 10, REFERENCE[measure])
    assert torch.equal(ids, ref_ids)
    torch.testing.assert_close(scores, ref_scores, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("seed", SEEDS)
def test_excluded_rows_never_come_back_and_the_rest_is_semantic_search(seed):
    query, corpus = rand(seed, 3, 128), rand(seed + 9, 500, 128)
    first = em.top_k(query, corpus, 5)[1]
    banned = [first[q, :2].tolist() for q in range(3)]  # each query's two best
    scores, ids = em.top_k(query, corpus, 5, exclude=banned)
    for q in range(3):
        assert not set(ids[q].tolist()) & set(banned[q])
        keep = [i for i in range(500) if i not in banned[q]]
        ref_scores, ref_ids = _reference(query[q : q + 1], corpus[keep], 5, util.cos_sim)
        assert ids[q].tolist() == [keep[i] for i in ref_ids[0].tolist()]
        torch.testing.assert_close(scores[q], ref_scores[0])


def test_combine_is_the_weighted_sum():
    v, w = rand(4, 4, 384), torch.tensor([1.0, -1.0, 0.5, 2.0])
    torch.testing.assert_close(em.combine(v, w), v[0] - v[1] + 0.5 * v[2] + 2 * v[3])


@pytest.mark.parametrize("seed", SEEDS)
def test_dot_product_parts_add_up(seed):
    q, w = rand(seed, 384), rand(seed + 1, 384)
    parts = em.dot_product_parts(q, w)
    torch.testing.assert_close(torch.tensor(parts.dot), torch.dot(q, w), rtol=1e-5, atol=1e-5)
    assert parts.cosine == pytest.approx(F.cosine_similarity(q, w, 0).item(), rel=1e-5)
    assert parts.distance == pytest.approx(torch.dist(q, w).item(), rel=1e-5)
    assert parts.q_norm == pytest.approx(torch.linalg.vector_norm(q).item(), rel=1e-6)
    assert parts.largest == (q * w).argsort(descending=True)[:5].tolist()


@pytest.mark.parametrize("seed", SEEDS)
def test_pca_matches_scikit_learn_up_to_sign(seed):
    decomposition = pytest.importorskip("sklearn.decomposition")
    x = rand(seed, 20, 384, dtype=torch.float64) + rand(seed + 7, 1, 384, dtype=torch.float64)
    ours = em.pca_2d(x)
    ref = decomposition.PCA(n_components=2, svd_solver="full").fit(x.numpy())
    theirs = torch.from_numpy(ref.transform(x.numpy()))
    mine = ours.transform(x)
    signs = (mine * theirs).sum(0).sign()  # a component and its negative are the same direction
    torch.testing.assert_close(mine * signs, theirs)
    torch.testing.assert_close(ours.explained, torch.from_numpy(ref.explained_variance_ratio_))
    torch.testing.assert_close(ours.components @ ours.components.T, torch.eye(2, dtype=x.dtype))


def test_pca_keeps_a_parallelogram_and_needs_only_two_points():
    x = rand(5, 8, 384)
    pca = em.pca_2d(x)
    b_minus_a_plus_c = pca.transform(x[1] - x[0] + x[2])
    torch.testing.assert_close(
        b_minus_a_plus_c, pca.transform(x[1]) - pca.transform(x[0]) + pca.transform(x[2])
    )
    two = em.pca_2d(x[:2])
    assert two.transform(x[:2]).shape == (2, 2) and torch.isfinite(two.transform(x)).all()


def test_zero_vectors_give_zero_cosine_not_nan():
    assert em.cos_sim(torch.zeros(4), torch.ones(4)).item() == 0.0


def test_unknown_measure_is_refused():
    with pytest.raises(ValueError, match="cosine, dot, euclidean"):
        em.similarity(torch.ones(1, 2), torch.ones(1, 2), "manhattan")


@pytest.mark.gpu
@pytest.mark.parametrize("measure", em.MEASURES)
def test_on_cuda_matches_semantic_search(measure):
    query, corpus = rand(0, 4, 384).cuda(), rand(1, 20_000, 384).cuda()
    scores, ids = em.top_k(query, corpus, 10, measure, exclude=[[0], [], [1, 2], []])
    ref = util.semantic_search(query, corpus, top_k=12, score_function=REFERENCE[measure])
    for q, banned in enumerate([[0], [], [1, 2], []]):
        expected = [h for h in ref[q] if h["corpus_id"] not in banned][:10]
        assert ids[q].tolist() == [h["corpus_id"] for h in expected]
        assert scores[q].tolist() == pytest.approx([h["score"] for h in expected], abs=1e-4)
    torch.testing.assert_close(em.cos_sim(query, corpus), util.cos_sim(query, corpus))
