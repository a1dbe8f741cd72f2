"""Tests for tinygrad_sm.data (datasets, loaders, splits, normalization)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_sm.core import rng
from tinygrad_sm.core.tensor import Tensor
from tinygrad_sm.data import (
    DataLoader,
    Dataset,
    Normalizer,
    Subset,
    TensorDataset,
    default_collate,
    normalize,
    random_split,
    train_test_split,
)


def make_ds(n: int = 10) -> TensorDataset:
    """x is 0..n-1 as float32 rows of 2 features, y is the int64 index times 10."""
    x = np.stack([np.arange(n), -np.arange(n)], axis=1).astype(np.float32)
    y = np.arange(n, dtype=np.int64) * 10
    return TensorDataset(x, y)


def epoch(loader: DataLoader) -> list[tuple[np.ndarray, ...]]:
    return [tuple(t.data for t in batch) for batch in loader]


def order_of(loader: DataLoader) -> list[int]:
    """The example indices of one epoch, read from the y field (y = 10 * index)."""
    return [int(v) // 10 for _, y in epoch(loader) for v in y]


class CountingArray(np.ndarray):
    """An ndarray that counts how often it is indexed."""

    calls = 0

    def __getitem__(self, key):
        CountingArray.calls += 1
        return super().__getitem__(key)


@pytest.fixture
def counting():
    CountingArray.calls = 0
    yield CountingArray
    CountingArray.calls = 0


class Squares(Dataset):
    """A generic (item-by-item) dataset: item i is (float32 [i], int i*i)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.fetched: list[int] = []

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        self.fetched.append(i)
        return np.array([i], dtype=np.float32), np.int64(i * i)


# --- TensorDataset ----------------------------------------------------------------------


def test_tensor_dataset_len_and_items():
    ds = make_ds(5)
    assert len(ds) == 5
    x, y = ds[3]
    np.testing.assert_array_equal(x, [3.0, -3.0])
    assert y == 30


def test_tensor_dataset_takes_data_from_tensors():
    x = Tensor(np.arange(6, dtype=np.float32).reshape(3, 2))
    ds = TensorDataset(x, np.array([1, 2, 3]))
    assert isinstance(ds.arrays[0], np.ndarray)
    assert ds.arrays[0] is x.data
    np.testing.assert_array_equal(ds[2][0], [4.0, 5.0])


def test_tensor_dataset_length_mismatch_lists_lengths():
    with pytest.raises(ValueError, match=r"TensorDataset.*same first dimension.*\[3, 4\]"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))


def test_tensor_dataset_empty_and_scalar_errors():
    with pytest.raises(ValueError, match="TensorDataset: needs at least one array"):
        TensorDataset()
    with pytest.raises(ValueError, match=r"TensorDataset: empty dataset \(shapes \[\(0, 2\)"):
        TensorDataset(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(ValueError, match=r"TensorDataset: arrays need a first dimension.*\(\)"):
        TensorDataset(np.float32(1.0))


def test_dataset_base_class_is_abstract():
    with pytest.raises(NotImplementedError, match="Dataset must define __len__"):
        len(Dataset())
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]


# --- DataLoader: batching ---------------------------------------------------------------


def test_batches_are_tuples_of_tensors_with_dtypes_kept():
    batches = list(DataLoader(make_ds(10), batch_size=4))
    for batch in batches:
        assert isinstance(batch, tuple) and len(batch) == 2
        assert all(isinstance(t, Tensor) for t in batch)
        assert batch[0].data.dtype == np.float32
        assert batch[1].data.dtype == np.int64
        assert not batch[0].requires_grad


def test_batch_sizes_and_count_with_short_last_batch():
    loader = DataLoader(make_ds(10), batch_size=4)
    batches = epoch(loader)
    assert len(loader) == 3 == len(batches)
    assert [x.shape for x, _ in batches] == [(4, 2), (4, 2), (2, 2)]
    assert [y.shape for _, y in batches] == [(4,), (4,), (2,)]
    # no shuffle: examples come in order
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches]), np.arange(10) * 10)
    np.testing.assert_array_equal(batches[2][0], [[8, -8], [9, -9]])


def test_drop_last():
    loader = DataLoader(make_ds(10), batch_size=4, drop_last=True)
    batches = epoch(loader)
    assert len(loader) == 2 == len(batches)
    assert [y.tolist() for _, y in batches] == [[0, 10, 20, 30], [40, 50, 60, 70]]


def test_drop_last_with_exact_multiple_keeps_everything():
    loader = DataLoader(make_ds(12), batch_size=4, drop_last=True)
    assert len(loader) == 3 == len(list(loader))


def test_batch_larger_than_dataset():
    assert len(DataLoader(make_ds(3), batch_size=8)) == 1
    assert [x.shape for x, _ in epoch(DataLoader(make_ds(3), batch_size=8))] == [(3, 2)]
    loader = DataLoader(make_ds(3), batch_size=8, drop_last=True)
    assert len(loader) == 0 and list(loader) == []


@given(n=st.integers(1, 40), bs=st.integers(1, 12), drop_last=st.booleans())
@settings(max_examples=50, deadline=None)
def test_len_matches_number_of_batches(n, bs, drop_last):
    loader = DataLoader(make_ds(n), batch_size=bs, drop_last=drop_last, shuffle=True, seed=0)
    sizes = [len(y) for _, y in epoch(loader)]
    assert len(sizes) == len(loader) == (n // bs if drop_last else -(-n // bs))
    assert all(s == bs for s in sizes[:-1])
    assert sum(sizes) == (n - n % bs if drop_last else n)


# --- DataLoader: shuffling --------------------------------------------------------------


def test_every_example_exactly_once_per_epoch_when_shuffling():
    loader = DataLoader(make_ds(23), batch_size=5, shuffle=True, seed=1)
    for _ in range(3):
        batches = epoch(loader)
        ys = np.concatenate([y for _, y in batches])
        assert sorted(ys.tolist()) == [10 * i for i in range(23)]
        # fields stay aligned: row i of x goes with y = 10 * i
        for x, y in batches:
            np.testing.assert_array_equal(x[:, 0] * 10, y)


def test_shuffle_changes_the_order_and_differs_between_epochs():
    loader = DataLoader(make_ds(50), batch_size=8, shuffle=True, seed=0)
    first, second = order_of(loader), order_of(loader)
    assert first != list(range(50))
    assert second != first
    assert sorted(first) == sorted(second) == list(range(50))


def test_seed_makes_the_sequence_of_epochs_reproducible():
    a = DataLoader(make_ds(30), batch_size=7, shuffle=True, seed=42)
    b = DataLoader(make_ds(30), batch_size=7, shuffle=True, seed=42)
    c = DataLoader(make_ds(30), batch_size=7, shuffle=True, seed=43)
    epochs_a = [order_of(a) for _ in range(3)]
    assert epochs_a == [order_of(b) for _ in range(3)]
    assert epochs_a != [order_of(c) for _ in range(3)]


def test_seeded_loader_ignores_the_package_generator():
    rng.manual_seed(0)
    a = order_of(DataLoader(make_ds(30), shuffle=True, seed=5))
    rng.manual_seed(1)
    assert order_of(DataLoader(make_ds(30), shuffle=True, seed=5)) == a


def test_manual_seed_makes_unseeded_loader_reproducible():
    # the loader is built before manual_seed: it must read the package generator per epoch
    loader = DataLoader(make_ds(30), batch_size=4, shuffle=True)
    rng.manual_seed(0)
    run1 = [order_of(loader) for _ in range(2)]
    rng.manual_seed(0)
    run2 = [order_of(loader) for _ in range(2)]
    rng.manual_seed(1)
    run3 = [order_of(loader) for _ in range(2)]
    assert run1 == run2
    assert run1[0] != run1[1]
    assert run3 != run1


def test_permutation_is_drawn_when_iter_is_called():
    loader = DataLoader(make_ds(30), shuffle=True)
    rng.manual_seed(0)
    it = iter(loader)
    rng.manual_seed(99)  # must not affect the epoch already started
    order = [int(y.data[0]) // 10 for _, y in it]
    rng.manual_seed(0)
    assert order == order_of(loader)


# --- DataLoader: fetching ---------------------------------------------------------------


def test_tensor_dataset_batch_is_one_indexing_call_per_array(counting):
    x = np.arange(20, dtype=np.float32).reshape(10, 2).view(counting)
    y = np.arange(10).view(counting)
    loader = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, seed=0)
    counting.calls = 0
    batches = epoch(loader)
    # 3 batches x 2 arrays; item by item would be 10 x 2
    assert counting.calls == 6
    assert sorted(np.concatenate([b[1] for b in batches]).tolist()) == list(range(10))


def test_subset_of_tensor_dataset_keeps_the_fast_path(counting):
    x = np.arange(20, dtype=np.float32).reshape(10, 2).view(counting)
    y = np.arange(10).view(counting)
    sub = Subset(TensorDataset(x, y), [9, 7, 5, 3, 1])
    counting.calls = 0
    batches = epoch(DataLoader(sub, batch_size=2))
    assert counting.calls == 3 * 2
    assert [b[1].tolist() for b in batches] == [[9, 7], [5, 3], [1]]
    np.testing.assert_array_equal(batches[0][0], [[18, 19], [14, 15]])


def test_generic_dataset_is_fetched_item_by_item_and_stacked():
    ds = Squares(7)
    loader = DataLoader(ds, batch_size=3)
    batches = list(loader)
    assert ds.fetched == list(range(7))
    assert [b[0].shape for b in batches] == [(3, 1), (3, 1), (1, 1)]
    assert batches[0][0].data.dtype == np.float32
    np.testing.assert_array_equal(batches[1][1].data, [9, 16, 25])
    assert all(isinstance(t, Tensor) for b in batches for t in b)


def test_duck_typed_dataset_and_single_field_items():
    items = [np.full(2, i, dtype=np.float32) for i in range(5)]  # a plain list is a dataset
    batches = list(DataLoader(items, batch_size=2))
    assert [len(b) for b in batches] == [1, 1, 1]  # 1-tuples
    np.testing.assert_array_equal(batches[1][0].data, [[2, 2], [3, 3]])


def test_custom_collate_fn_receives_the_items():
    seen = []

    def collate(items):
        seen.append(items)
        return len(items)

    ds = make_ds(5)
    assert list(DataLoader(ds, batch_size=2, collate_fn=collate)) == [2, 2, 1]
    x0, y0 = seen[0][0]
    np.testing.assert_array_equal(x0, [0.0, -0.0])
    assert y0 == 0


def test_default_collate():
    out = default_collate([(np.array([1.0, 2.0]), 3), (np.array([4.0, 5.0]), 6)])
    assert isinstance(out, tuple) and all(isinstance(t, Tensor) for t in out)
    np.testing.assert_array_equal(out[0].data, [[1, 2], [4, 5]])
    np.testing.assert_array_equal(out[1].data, [3, 6])
    with pytest.raises(ValueError, match=r"default_collate: .*different numbers of fields"):
        default_collate([(1, 2), (3,)])


def test_ragged_items_name_the_field_and_the_items():
    items = [(np.zeros(3), 0), (np.zeros(3), 1), (np.zeros(4), 2)]
    with pytest.raises(ValueError, match=r"default_collate: field 0 of the items has different "
                                         r"shapes in one batch: item 0 has \(3,\), item 2 has "
                                         r"\(4,\) \(ragged items need a collate_fn"):
        default_collate(items)
    with pytest.raises(ValueError, match=r"default_collate: field 1 of item 1 is ragged"):
        default_collate([(0, [1, 2]), (1, [[1, 2], [3]])])

    class Ragged:
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return np.arange(i + 1), i

    with pytest.raises(ValueError, match=r"field 0 .* item 0 has \(1,\), item 1 has \(2,\)"):
        next(iter(DataLoader(Ragged(), batch_size=3)))


@pytest.mark.parametrize("seed, exc, message", [
    (-1, ValueError, r"seed must be an int >= 0 or None, got -1"),
    (1.5, TypeError, r"seed must be an int >= 0 or None, got 1.5 \(float\)"),
    ("7", TypeError, r"seed must be an int >= 0 or None, got '7' \(str\)"),
    (True, TypeError, r"seed must be an int >= 0 or None, got True \(bool\)"),
])
def test_bad_seeds_name_the_argument(seed, exc, message):
    with pytest.raises(exc, match=r"DataLoader: " + message):
        DataLoader(make_ds(), shuffle=True, seed=seed)
    with pytest.raises(exc, match=r"random_split: " + message):
        random_split(make_ds(10), [5, 5], seed=seed)
    with pytest.raises(exc, match=r"train_test_split: " + message):
        train_test_split(np.zeros((10, 2)), np.arange(10) % 2, seed=seed)
    assert DataLoader(make_ds(), shuffle=True, seed=np.int64(3)).seed == 3  # NumPy ints too


@pytest.mark.parametrize("bs", [0, -3])
def test_batch_size_below_one(bs):
    with pytest.raises(ValueError, match=f"DataLoader: batch_size must be >= 1, got {bs}"):
        DataLoader(make_ds(), batch_size=bs)


@pytest.mark.parametrize("bs", [2.5, True, "4"])
def test_batch_size_not_an_int(bs):
    with pytest.raises(TypeError, match="DataLoader: batch_size must be an int"):
        DataLoader(make_ds(), batch_size=bs)


def test_loader_over_empty_dataset():
    with pytest.raises(ValueError, match="DataLoader: the dataset is empty"):
        DataLoader(Squares(0))


# --- random_split and Subset ------------------------------------------------------------


def test_random_split_int_lengths_are_disjoint_and_cover():
    ds = make_ds(20)
    parts = random_split(ds, [12, 5, 3], seed=0)
    assert [len(p) for p in parts] == [12, 5, 3]
    assert all(isinstance(p, Subset) and p.dataset is ds for p in parts)
    all_idx = np.concatenate([p.indices for p in parts])
    assert sorted(all_idx.tolist()) == list(range(20))
    assert all_idx.tolist() != list(range(20))  # shuffled
    # items come from the base dataset
    assert parts[0][0][1] == parts[0].indices[0] * 10


def test_random_split_fractions():
    assert [len(p) for p in random_split(make_ds(10), [0.8, 0.2], seed=0)] == [8, 2]
    # leftovers go one each to the first subsets, as in PyTorch
    assert [len(p) for p in random_split(make_ds(10), [1 / 3] * 3, seed=0)] == [4, 3, 3]
    assert [len(p) for p in random_split(make_ds(5), [0.5, 0.5], seed=0)] == [3, 2]


def test_random_split_is_reproducible():
    a = [p.indices.tolist() for p in random_split(make_ds(30), [20, 10], seed=3)]
    b = [p.indices.tolist() for p in random_split(make_ds(30), [20, 10], seed=3)]
    c = [p.indices.tolist() for p in random_split(make_ds(30), [20, 10], seed=4)]
    assert a == b != c
    rng.manual_seed(7)
    d = [p.indices.tolist() for p in random_split(make_ds(30), [20, 10])]
    rng.manual_seed(7)
    assert d == [p.indices.tolist() for p in random_split(make_ds(30), [20, 10])]


@pytest.mark.parametrize(
    "lengths,match",
    [
        ([8, 3], r"lengths \[8, 3\] must be >= 0 and sum to the dataset's length 10.*sum to 11"),
        ([12, -2], r"lengths \[12, -2\]"),
        ([0.5, 0.4], r"fractions \[0.5, 0.4\] must be in \[0, 1\] and sum to 1.*0.9"),
        ([1.5, -0.5], r"fractions \[1.5, -0.5\]"),
        ([5, 0.5], r"fractions \[5.0, 0.5\]"),
        ([], "lengths is empty"),
    ],
)
def test_random_split_errors(lengths, match):
    with pytest.raises(ValueError, match="random_split: " + match):
        random_split(make_ds(10), lengths)


def test_subset_errors():
    with pytest.raises(ValueError, match=r"Subset: indices out of range for a dataset of 10: \[10"):
        Subset(make_ds(10), [0, 10])
    with pytest.raises(ValueError, match=r"Subset: indices out of range.*\[-1\]"):
        Subset(make_ds(10), [-1, 2])
    with pytest.raises(ValueError, match="Subset: indices must be a 1-D sequence of ints"):
        Subset(make_ds(10), [0.5, 1.0])


def test_subset_of_generic_dataset_in_a_loader():
    ds = Squares(10)
    sub = Subset(ds, [4, 2])
    assert len(sub) == 2 and sub[1][1] == 4
    ((x, y),) = list(DataLoader(sub, batch_size=5))
    np.testing.assert_array_equal(y.data, [16, 4])
    assert x.shape == (2, 1)


def test_split_then_load_train_part():
    train, valid = random_split(make_ds(20), [0.75, 0.25], seed=0)
    seen = order_of(DataLoader(train, batch_size=4, shuffle=True, seed=0))
    assert sorted(seen) == sorted(train.indices.tolist())
    assert not set(seen) & set(valid.indices.tolist())


# --- train_test_split -------------------------------------------------------------------


def labelled(counts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """X[i] = [i, i], y = class labels with the given counts (sorted by class)."""
    y = np.repeat(np.arange(len(counts)), counts)
    X = np.stack([np.arange(len(y))] * 2, axis=1).astype(np.float32)
    return X, y


def test_train_test_split_sizes_alignment_and_types():
    X, y = labelled([60, 30, 10])
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, seed=0)
    assert (len(X_tr), len(X_te), len(y_tr), len(y_te)) == (80, 20, 80, 20)
    assert all(isinstance(a, np.ndarray) for a in (X_tr, X_te, y_tr, y_te))
    assert X_tr.dtype == np.float32
    # rows stay with their labels, and train/test are disjoint and complete
    for Xs, ys in ((X_tr, y_tr), (X_te, y_te)):
        np.testing.assert_array_equal(y[Xs[:, 0].astype(int)], ys)
    ids = np.concatenate([X_tr[:, 0], X_te[:, 0]]).astype(int)
    assert sorted(ids.tolist()) == list(range(100))


def test_stratified_split_keeps_class_proportions():
    X, y = labelled([60, 30, 10])
    _, _, _, y_te = train_test_split(X, y, test_size=0.2, seed=0)
    assert np.bincount(y_te).tolist() == [12, 6, 2]
    _, _, _, y_te = train_test_split(X, y, test_size=0.5, seed=1)
    assert np.bincount(y_te).tolist() == [30, 15, 5]


def test_stratified_test_set_is_shuffled_not_sorted_by_class():
    X, y = labelled([50, 50])
    _, X_te, _, y_te = train_test_split(X, y, test_size=0.4, seed=0)
    assert y_te.tolist() != sorted(y_te.tolist())


@given(
    counts=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    test_size=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=60, deadline=None)
def test_stratified_each_class_within_one_example(counts, test_size, seed):
    X, y = labelled(counts)
    n = len(y)
    if n < 2:
        return
    _, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, seed=seed)
    n_test = min(max(round(n * test_size), 1), n - 1)
    assert len(y_te) == n_test and len(y_tr) == n - n_test
    test_counts = np.bincount(y_te, minlength=len(counts))
    for c, n_c in enumerate(counts):
        assert abs(test_counts[c] - n_c * n_test / n) < 1


def test_unstratified_split_is_random_and_sized():
    X, y = labelled([90, 10])
    _, _, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=False, seed=0)
    assert (len(y_tr), len(y_te)) == (70, 30)


def test_stratify_with_one_hot_labels():
    X, y = labelled([40, 20])
    onehot = np.eye(2, dtype=np.float32)[y]
    _, _, _, oh_te = train_test_split(X, onehot, test_size=0.25, seed=0)
    assert oh_te.shape == (15, 2)
    assert oh_te.sum(axis=0).tolist() == [10, 5]


def test_stratify_with_all_distinct_targets_is_still_random():
    # a float regression target: every value is its own class; the test set must not be
    # simply the smallest values
    X = np.arange(50, dtype=np.float32)[:, None]
    y = np.linspace(0, 1, 50)
    _, X_te, _, _ = train_test_split(X, y, test_size=0.2, seed=0)
    assert len(X_te) == 10
    assert sorted(X_te[:, 0].tolist()) != list(range(10))


def test_train_test_split_reproducible_and_accepts_tensors():
    X, y = labelled([30, 20])
    a = train_test_split(X, y, seed=5)
    b = train_test_split(Tensor(X), Tensor(y), seed=5)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    rng.manual_seed(2)
    c = train_test_split(X, y)
    rng.manual_seed(2)
    for u, v in zip(c, train_test_split(X, y), strict=True):
        np.testing.assert_array_equal(u, v)


def test_train_test_split_errors():
    X, y = labelled([5, 5])
    with pytest.raises(ValueError, match=r"train_test_split: X and y .*\(10, 2\) and \(9,\)"):
        train_test_split(X, y[:9])
    for bad in (0, 1, 1.5, -0.2):
        with pytest.raises(ValueError, match=f"test_size must be in \\(0, 1\\), got {bad}"):
            train_test_split(X, y, test_size=bad)
    with pytest.raises(ValueError, match="train_test_split: need at least 2 examples.*got 1"):
        train_test_split(X[:1], y[:1])


# --- normalization ----------------------------------------------------------------------


def test_normalizer_uses_training_statistics_only():
    gen = np.random.default_rng(0)
    X_train = gen.normal(5.0, 2.0, size=(200, 3)).astype(np.float32)
    X_test = gen.normal(-1.0, 0.5, size=(50, 3)).astype(np.float32)
    norm = Normalizer.fit(X_train)
    np.testing.assert_allclose(norm.mean.ravel(), X_train.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(norm.std.ravel(), X_train.std(axis=0), rtol=1e-5)
    Z_train, Z_test = norm(X_train), norm(X_test)
    np.testing.assert_allclose(Z_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(Z_train.std(axis=0), 1, atol=1e-5)
    expected = (X_test - X_train.mean(axis=0)) / X_train.std(axis=0)
    np.testing.assert_allclose(Z_test, expected, rtol=1e-4, atol=1e-5)
    assert np.all(Z_test.mean(axis=0) < -2)  # not re-centred on the test data


def test_normalizer_keeps_float32_and_fixes_constant_features():
    X = np.array([[1.0, 0.1], [3.0, 0.1], [5.0, 0.1]], dtype=np.float32)
    norm = Normalizer.fit(X)
    assert norm.mean.dtype == norm.std.dtype == np.float32
    Z = norm(X)
    assert Z.dtype == np.float32
    assert np.all(np.isfinite(Z))
    np.testing.assert_allclose(Z[:, 1], 0)
    assert norm.std.ravel()[1] == 1.0


def test_constant_float64_feature_gets_std_one_despite_rounding():
    X = np.full((7, 1), 0.1)
    assert X.std(axis=0)[0] > 0  # the float64 mean of seven 0.1s is not exactly 0.1
    norm = Normalizer.fit(X)
    assert norm.std.ravel()[0] == 1.0
    np.testing.assert_allclose(norm(X), 0, atol=1e-15)


def test_normalizer_axis_for_images():
    X = np.random.default_rng(0).normal(size=(8, 3, 4, 4)).astype(np.float32)
    X[:, 1] += 10
    norm = Normalizer.fit(X, axis=(0, 2, 3))
    assert norm.mean.shape == (1, 3, 1, 1)
    Z = norm(X)
    np.testing.assert_allclose(Z.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(Z.std(axis=(0, 2, 3)), 1, atol=1e-5)


def test_normalizer_integer_input_and_empty_error():
    norm = Normalizer.fit(np.array([[0], [2], [4]]))
    assert norm.mean.dtype == np.float64
    np.testing.assert_allclose(norm(np.array([[2], [6]])).ravel(), [0, 4 / np.sqrt(8 / 3)])
    with pytest.raises(ValueError, match=r"Normalizer.fit: X is empty \(shape \(0, 3\)\)"):
        Normalizer.fit(np.zeros((0, 3)))


def test_normalize_function():
    x = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    out = normalize(x, np.float64(2.0), np.float64(0.5))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [-2, 0, 2])
    with pytest.raises(ValueError, match=r"normalize: std has zeros.*\[1. 0.\]"):
        normalize(np.ones((2, 2)), 0.0, np.array([1.0, 0.0]))
