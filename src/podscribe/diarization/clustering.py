"""The overlap diarizer's clustering steps in numpy: average-linkage agglomeration, its flat cuts, the
optimal assignment of a chunk's pieces to clusters, and connected components.

They give scipy's results (``linkage(..., "average", "cosine")``, ``fcluster`` by distance and by
``maxclust``, ``linear_sum_assignment``, ``connected_components``; the tests compare them) without
importing scipy: its cluster, optimize and sparse packages took 0.5 s of one core to import here,
on the critical path of every run, before the first window could be decoded (BENCHMARKS.md,
"scipy off the diarizer's path"). The algorithms are scipy's own, so that ties break the same way:
the nearest-neighbour chain with Lance-Williams updates, the dendrogram relabelled in order of height,
flat clusters numbered by a depth-first walk, and a shortest-augmenting-path assignment.
"""

from __future__ import annotations

import numpy as np


def average_linkage(points: np.ndarray) -> np.ndarray:
    """scipy's (n - 1, 4) linkage matrix of average-linkage agglomeration on cosine distance; ValueError,
    as scipy's, for points that give no finite distance (NaN, infinite or zero vectors), on which the
    nearest-neighbour chain would never end."""
    x = np.asarray(points, dtype=np.float64)
    if not (np.isfinite(x).all() and np.abs(x).sum(axis=1).all()):
        raise ValueError("average linkage needs finite, non-zero points")
    n = len(x)
    dist = _cosine_distances(x)
    size = np.ones(n)
    merges = np.empty((n - 1, 4))
    chain: list[int] = []
    for k in range(n - 1):
        if not chain:
            chain.append(int(np.flatnonzero(size)[0]))
        while True:  # follow nearest neighbours until two are each other's
            a = chain[-1]
            row = dist[a]
            b = int(np.argmin(row))
            if len(chain) > 1 and row[chain[-2]] <= row[b]:  # the chain's previous element wins ties
                b = chain[-2]
                break
            chain.append(b)
        chain = chain[:-2]
        a, b = min(a, b), max(a, b)
        height, na, nb = dist[a, b], size[a], size[b]
        merges[k] = a, b, height, na + nb
        merged = (na * dist[a] + nb * dist[b]) / (na + nb)  # the new cluster takes slot b
        merged[size == 0] = np.inf
        merged[[a, b]] = np.inf
        dist[b], dist[:, b] = merged, merged
        dist[a], dist[:, a] = np.inf, np.inf
        size[a], size[b] = 0.0, na + nb
    merges = merges[np.argsort(merges[:, 2], kind="mergesort")]
    return _relabel(merges, n)


def _cosine_distances(x: np.ndarray) -> np.ndarray:
    """(n, n) cosine distances, symmetric, in [0, 2], infinite on the diagonal; computed in place, so that
    3,000 embeddings (a long file's sample) hold one 72-MB matrix, as scipy's condensed one and its copy."""
    dist = x @ x.T
    norms = np.sqrt((x * x).sum(axis=1))
    dist /= norms[:, None]
    dist /= norms[None, :]
    np.subtract(1.0, dist, out=dist)
    np.clip(dist, 0.0, 2.0, out=dist)
    for i in range(0, len(dist), 256):  # the product's two triangles may differ in their last bit
        dist[i : i + 256, :i] = dist[:i, i : i + 256].T
        block = dist[i : i + 256, i : i + 256]
        block[...] = np.triu(block) + np.triu(block, 1).T
    np.fill_diagonal(dist, np.inf)
    return dist


def _relabel(merges: np.ndarray, n: int) -> np.ndarray:
    """Merges of slot pairs (and their sizes), sorted by height, as scipy's linkage rows: cluster ids (a
    leaf's index, n + i for row i's cluster), the smaller first."""
    parent = np.arange(2 * n - 1)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    for i, (a, b, _, _) in enumerate(merges):
        ra, rb = root(int(a)), root(int(b))
        merges[i, 0], merges[i, 1] = min(ra, rb), max(ra, rb)
        parent[ra] = parent[rb] = n + i
    return merges


def _highest(tree: np.ndarray) -> np.ndarray:
    """Each node's highest merge in its subtree (scipy's ``get_max_dist_for_each_cluster``)."""
    n = len(tree) + 1
    out = tree[:, 2].copy()
    for i, (a, b) in enumerate(tree[:, :2].astype(int)):  # children come before their parents
        for child in (a, b):
            if child >= n:
                out[i] = max(out[i], out[child - n])
    return out


def cut(tree: np.ndarray, threshold: float) -> np.ndarray:
    """Flat cluster labels 1..k of the leaves, joined where their merges lie at or under
    ``threshold`` (``fcluster(tree, threshold, "distance")``, numbered in its order)."""
    return _labels(tree, _highest(tree), threshold)


def cut_to(tree: np.ndarray, clusters: int) -> np.ndarray:
    """Flat cluster labels 1..k for at most ``clusters`` clusters (``fcluster(tree, clusters,
    "maxclust")``: every leaf its own cluster from ``clusters`` = n up, else the lowest merge height
    that gives at most ``clusters``, found by scipy's binary search over the merges)."""
    n = len(tree) + 1
    if clusters >= n:
        return np.arange(1, n + 1)
    highest = _highest(tree)
    lower, upper = -1, n - 2
    while upper - lower > 1:
        mid = (lower + upper) // 2
        if n - int(np.count_nonzero(highest <= highest[mid])) > clusters:
            lower = mid
        else:
            upper = mid
    return _labels(tree, highest, float(highest[upper]))


def _labels(tree: np.ndarray, highest: np.ndarray, threshold: float) -> np.ndarray:
    """scipy's ``cluster_monocrit``: a depth-first walk from the root, left child first; a subtree
    whose highest merge is at or under ``threshold`` is one cluster, numbered when the walk enters it;
    a leaf outside such subtrees is numbered when the walk leaves its parent."""
    n = len(tree) + 1
    labels = np.zeros(n, dtype=int)
    if n == 1:
        return labels + 1
    children = tree[:, :2].astype(int)
    visited = np.zeros(2 * n - 1, dtype=bool)
    stack, count, leader = [2 * n - 2], 0, -1
    while stack:
        node = stack[-1] - n
        left, right = children[node]
        if leader == -1 and highest[node] <= threshold:
            leader, count = node, count + 1
        if left >= n and not visited[left]:
            visited[left] = True
            stack.append(left)
            continue
        if right >= n and not visited[right]:
            visited[right] = True
            stack.append(right)
            continue
        for leaf in (left, right):
            if leaf < n:
                if leader == -1:
                    count += 1
                labels[leaf] = count
        if leader == node:
            leader = -1
        stack.pop()
    return labels


def best_assignment(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the assignment with the highest total ``score``, one column per row at most
    (``linear_sum_assignment(score, maximize=True)``: Crouse's shortest augmenting paths, as scipy)."""
    cost = -np.asarray(score, dtype=np.float64)
    transposed = cost.shape[0] > cost.shape[1]
    if transposed:
        cost = cost.T
    rows, cols = cost.shape
    u, v = np.zeros(rows), np.zeros(cols)
    col4row, row4col = np.full(rows, -1), np.full(cols, -1)
    for current in range(rows):
        costs, path = np.full(cols, np.inf), np.full(cols, -1)
        remaining = list(range(cols - 1, -1, -1))
        seen_rows, seen_cols = [], np.zeros(cols, dtype=bool)
        least, i, sink = 0.0, current, -1
        while sink == -1:
            seen_rows.append(i)
            index, lowest = -1, np.inf
            for at, j in enumerate(remaining):
                reduced = least + cost[i, j] - u[i] - v[j]
                if reduced < costs[j]:
                    path[j], costs[j] = i, reduced
                if costs[j] < lowest or (costs[j] == lowest and row4col[j] == -1):
                    lowest, index = costs[j], at
            least = lowest
            j = remaining[index]
            if row4col[j] == -1:
                sink = j
            else:
                i = int(row4col[j])
            seen_cols[j] = True
            remaining[index] = remaining[-1]
            remaining.pop()
        u[current] += least
        for i in seen_rows:
            if i != current:
                u[i] += least - costs[col4row[i]]
        v[seen_cols] -= least - costs[seen_cols]
        j = sink
        while True:  # augment along the path back to the current row
            i = int(path[j])
            row4col[j] = i
            col4row[i], j = j, int(col4row[i])
            if i == current:
                break
    if not transposed:
        return np.arange(rows), col4row
    order = np.argsort(col4row)
    return col4row[order], order


def components(adjacent: np.ndarray) -> list[np.ndarray]:
    """Connected components of a symmetric boolean adjacency matrix, each as sorted node indices, in
    order of their lowest node."""
    seen = np.zeros(len(adjacent), dtype=bool)
    out = []
    for start in range(len(adjacent)):
        if seen[start]:
            continue
        member = np.zeros(len(adjacent), dtype=bool)
        member[start] = True
        frontier = member.copy()
        while frontier.any():
            frontier = adjacent[frontier].any(axis=0) & ~member
            member |= frontier
        seen |= member
        out.append(np.flatnonzero(member))
    return out
