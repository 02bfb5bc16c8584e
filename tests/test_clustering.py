"""The overlap diarizer's clustering steps in numpy (``podscribe.diarization.clustering``) against scipy's,
which they replace on the default diarizer's path: the same dendrogram, flat clusters and labels, the same
assignments and components, on any input hypothesis draws."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import connected_components

from podscribe.diarization import clustering

points = st.builds(
    lambda n, d, seed: np.random.default_rng(seed).standard_normal((n, d)),
    st.integers(2, 40), st.integers(2, 12), st.integers(0, 2**32 - 1),
)


@given(points, st.lists(st.floats(0.0, 2.0), min_size=1, max_size=5))
def test_average_linkage_and_its_cuts_are_scipys(x, thresholds):
    ours, theirs = clustering.average_linkage(x), linkage(x, method="average", metric="cosine")
    np.testing.assert_array_equal(ours[:, [0, 1, 3]], theirs[:, [0, 1, 3]])
    np.testing.assert_allclose(ours[:, 2], theirs[:, 2], rtol=0, atol=1e-12)
    for threshold in thresholds:
        np.testing.assert_array_equal(clustering.cut(ours, threshold), fcluster(theirs, threshold, "distance"))
    for k in range(1, len(x) + 2):
        np.testing.assert_array_equal(clustering.cut_to(ours, k), fcluster(theirs, k, "maxclust"))


@given(points, st.integers(0, 2**32 - 1), st.floats(1e-9, 1.0))
def test_repeated_points_give_scipys_flat_clusters(x, seed, threshold):
    """Equal rows tie at distance 0, or 1e-16 in scipy's last bits, which may order their merges
    differently: the clusters (cut above those bits) are the same sets."""
    x[np.random.default_rng(seed).integers(0, len(x), len(x) // 2)] = x[0]
    ours = clustering.cut(clustering.average_linkage(x), threshold)
    theirs = fcluster(linkage(x, method="average", metric="cosine"), threshold, "distance")
    assert len(set(zip(ours, theirs))) == len(set(ours)) == len(set(theirs))


@pytest.mark.parametrize("bad", [np.nan, np.inf, 0.0])
def test_points_without_finite_distances_are_refused_as_scipy_refuses_them(bad):
    """A NaN distance (from a NaN or infinite coordinate, a zero vector) kept the neighbour chain looping."""
    x = np.eye(4) + 0.1
    x[2] = bad
    with pytest.raises(ValueError, match="finite"):
        linkage(x, "average", "cosine")
    with pytest.raises(ValueError, match="finite"):
        clustering.average_linkage(x)


@given(st.integers(1, 7), st.integers(1, 7), st.integers(0, 2**32 - 1))
def test_best_assignment_is_scipys(rows, cols, seed):
    score = np.random.default_rng(seed).standard_normal((rows, cols))
    ours, theirs = clustering.best_assignment(score), linear_sum_assignment(score, maximize=True)
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_array_equal(ours[1], theirs[1])


@given(st.integers(1, 16), st.floats(0.0, 0.5), st.integers(0, 2**32 - 1))
def test_components_are_scipys(n, density, seed):
    adjacent = np.random.default_rng(seed).random((n, n)) < density
    adjacent |= adjacent.T
    count, labels = connected_components(adjacent, directed=False)
    theirs = [np.flatnonzero(labels == i) for i in range(count)]
    ours = clustering.components(adjacent)
    assert [c.tolist() for c in ours] == [c.tolist() for c in theirs]


def test_the_default_diarizer_imports_no_scipy():
    """scipy's clustering, optimize, sparse and fft packages took 0.5 s of a core to import, before the
    first window could be decoded; the default diarizer and its features do without them."""
    code = ("import sys, podscribe.diarization.overlap; "
            "print(sorted(m for m in sys.modules if m == 'scipy' or m.startswith('scipy.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
