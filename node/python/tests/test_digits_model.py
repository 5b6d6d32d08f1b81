"""The Flower digits example's data and NumPy model (examples/flower_digits/task.py): backprop matches
finite differences, plain FedAvg with the recommended defaults learns in 3 rounds with every
update inside the fixed-point range, and the partitions and test set are disjoint."""

import math
import pathlib
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples" / "flower_digits"))
import task  # noqa: E402

CLIENTS = 5
ROUNDS = 3
# Measured with these seeds: 0.808, 0.883, 0.908 after rounds 1..3; the margin absorbs BLAS and
# NumPy version differences in float32 rounding.
MIN_ACCURACY = 0.88
# The update encoding clips at ±0.496; the defaults aim to stay inside ±0.45 (measured: 0.23).
UPDATE_TARGET = 0.45


@pytest.mark.parametrize("name", list(task.TENSORS))
def test_gradient_matches_finite_differences(name):
    rng = np.random.default_rng(1)
    params = {k: v.astype(np.float64) for k, v in task.init_model(seed=3).items()}
    params["conv.bias"] = rng.uniform(-0.1, 0.1, 8)  # nonzero, so its gradient is exercised generally
    x, y = task.load_data(0, CLIENTS)
    x, y = x[:24], y[:24]
    _, grads = task.loss_and_gradients(params, x, y)
    assert grads[name].shape == params[name].shape
    eps = 1e-6
    for flat in rng.choice(params[name].size, size=min(6, params[name].size), replace=False):
        coordinate = np.unravel_index(flat, params[name].shape)
        losses = []
        for step in (eps, -eps):
            moved = {k: v.copy() for k, v in params.items()}
            moved[name][coordinate] += step
            losses.append(task.loss_and_gradients(moved, x, y)[0])
        numeric = (losses[0] - losses[1]) / (2 * eps)
        # Central differences in float64: error ~eps^2 plus ~1e-16/eps rounding, far below 1e-7.
        assert grads[name][coordinate] == pytest.approx(numeric, rel=1e-5, abs=1e-8), coordinate


def test_train_is_deterministic_and_leaves_its_input_alone():
    params = task.init_model(seed=0)
    before = {k: v.copy() for k, v in params.items()}
    x, y = task.load_data(1, CLIENTS)
    first, loss = task.train(params, x, y, task.EPOCHS, task.LR, task.BATCH_SIZE, seed=7)
    second, again = task.train(params, x, y, task.EPOCHS, task.LR, task.BATCH_SIZE, seed=7)
    assert loss == again and np.isfinite(loss)
    for name, shape in task.TENSORS.items():
        np.testing.assert_array_equal(params[name], before[name])
        np.testing.assert_array_equal(first[name], second[name])
        assert first[name].dtype == np.float32 and first[name].shape == shape
        assert np.abs(before[name]).max() < 1


def test_fedavg_learns_in_three_rounds_with_updates_in_range():
    params = task.init_model(seed=0)
    partitions = [task.load_data(i, CLIENTS) for i in range(CLIENTS)]
    x_test, y_test = task.test_data()
    accuracies = []
    for round_ in range(ROUNDS):
        trained = [
            task.train(params, x, y, task.EPOCHS, task.LR, task.BATCH_SIZE, seed=1000 * round_ + i)[0]
            for i, (x, y) in enumerate(partitions)
        ]
        for new in trained:
            for name in params:
                assert np.abs(new[name] - params[name]).max() <= UPDATE_TARGET, (round_, name)
        params = {k: np.mean([new[k] for new in trained], axis=0).astype(np.float32) for k in params}
        assert max(np.abs(v).max() for v in params.values()) <= task.WEIGHT_LIMIT
        accuracies.append(task.evaluate(params, x_test, y_test)[1])
    assert accuracies[-1] >= MIN_ACCURACY, accuracies
    assert accuracies[0] < accuracies[-1], accuracies


@pytest.mark.parametrize("num_partitions", [1, 3, CLIENTS, 7])
def test_partitions_are_disjoint_equal_and_apart_from_the_test_set(num_partitions):
    digits = load_digits()
    all_x, all_y = digits.images / 16.0, digits.target
    train, test = task.split_indices()
    parts = [task.partition_indices(i, num_partitions) for i in range(num_partitions)]
    assert len({len(p) for p in parts}) == 1
    assert len(parts[0]) == len(train) // num_partitions
    union = np.concatenate(parts)
    assert len(np.unique(union)) == len(union)
    assert set(union) <= set(train)
    assert not set(test) & set(train)
    x_test, y_test = task.test_data()
    assert len(train) + len(test) == len(all_y) and len(y_test) == math.ceil(0.2 * len(all_y))
    x, y = task.load_data(num_partitions - 1, num_partitions)
    np.testing.assert_allclose(x, all_x[parts[-1]], rtol=1e-7)
    np.testing.assert_array_equal(y, all_y[parts[-1]])
    np.testing.assert_allclose(x_test, all_x[test], rtol=1e-7)
    assert x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
