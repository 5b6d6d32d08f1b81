"""Data and model for the Flower digits example: scikit-learn's 8x8 digits, split into a fixed
held-out test set and equal IID client partitions, and a small convolutional network in pure NumPy
(conv 3x3 -> ReLU -> 2x2 max-pool -> dense -> softmax cross-entropy) with its SGD training loop.

Parameters travel as a dict of float32 arrays named and shaped as in `TENSORS`. The defaults
`EPOCHS`, `LR` and `BATCH_SIZE` keep one local training call's change to every value well inside
the ±0.496 that the fixed-point update encoding can carry.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

# Every model tensor: name -> shape, all float32.
TENSORS = {
    "conv.weight": (8, 1, 3, 3),
    "conv.bias": (8,),
    "fc.weight": (10, 72),
    "fc.bias": (10,),
}
EPOCHS = 4
LR = 0.1
BATCH_SIZE = 32
# The fixed-point model format represents weights only within ±8.
WEIGHT_LIMIT = 8.0
TEST_FRACTION = 0.2


@functools.lru_cache(maxsize=1)
def _digits():
    """All 1797 digits as read-only (x, y): x (n, 8, 8) float32 scaled from 0..16 to [0, 1], y int64."""
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def split_indices(seed: int = 0):
    """(train, test) indices into the digits: a stratified, seeded 20% held-out test set and the rest."""
    _, y = _digits()
    # Stratified so that the test accuracy is not skewed by an unlucky class mix.
    return train_test_split(np.arange(len(y)), test_size=TEST_FRACTION, random_state=seed, stratify=y)


def partition_indices(partition_id: int, num_partitions: int, seed: int = 0) -> np.ndarray:
    """Indices into the digits of one client's partition: disjoint, equal-sized, drawn from the training portion."""
    if not 0 <= partition_id < num_partitions:
        raise ValueError(f"partition_id {partition_id} is not in 0..{num_partitions - 1}")
    _, y = _digits()
    train, _ = split_indices(seed)
    size = len(train) // num_partitions
    rng = np.random.default_rng(seed)
    # Drop a random remainder so that every partition has the same size, then deal the
    # label-sorted rest round-robin so each partition gets nearly the same class mix.
    kept = rng.permutation(train)[: size * num_partitions]
    dealt = kept[np.argsort(y[kept], kind="stable")]
    return np.sort(dealt[partition_id::num_partitions])


def load_data(partition_id: int, num_partitions: int, seed: int = 0):
    """One client's training partition as (x, y): x is (n, 8, 8) float32 in [0, 1], y int64."""
    x, y = _digits()
    index = partition_indices(partition_id, num_partitions, seed)
    return x[index], y[index]


def test_data(seed: int = 0):
    """The held-out 20% test set as (x, y), the same for every partitioning with this seed."""
    x, y = _digits()
    _, test = split_indices(seed)
    return x[test], y[test]


def init_model(seed: int = 0) -> dict[str, np.ndarray]:
    """Fresh float32 parameters: zero-mean conv filters, a small uniform dense layer, zero biases."""
    rng = np.random.default_rng(seed)
    # Zero-mean filters respond to contrast, not to ink: a filter whose weights happen to sum high
    # would fire up to ~4 on every stroke and push the first round's fc.weight update past ±0.45.
    filters = rng.uniform(-1, 1, (8, 9))
    filters -= filters.mean(axis=1, keepdims=True)
    # Peak weight 0.9 keeps every weight inside ±1 and gives filter norms around 1.6, near He's
    # sqrt(2) for fan_in 9; smaller filters make the conv layer's own updates grow.
    filters *= 0.9 / np.abs(filters).max(axis=1, keepdims=True)
    # Smaller than Glorot's 0.27: near-zero starting logits keep the first update small and
    # let the first rounds learn faster.
    fc_limit = 0.1
    params = {
        "conv.weight": filters.reshape(8, 1, 3, 3),
        "conv.bias": np.zeros(8),
        "fc.weight": rng.uniform(-fc_limit, fc_limit, (10, 72)),
        "fc.bias": np.zeros(10),
    }
    return {name: params[name].astype(np.float32) for name in TENSORS}


def _forward(params, x):
    """Logits and what the backward pass needs. Computes in the dtype of the parameters."""
    n = len(x)
    w = params["conv.weight"].reshape(8, 9)
    # im2col: every 3x3 window of every image as one row of 9 pixels, 6*6 windows per image.
    patches = sliding_window_view(x.astype(w.dtype), (3, 3), axis=(1, 2)).reshape(n, 36, 9)
    pre = patches @ w.T + params["conv.bias"]  # (n, 36, 8): position-major, channel last
    act = np.maximum(pre, 0)
    # Group each 2x2 pooling window's four values on the last axis.
    windows = act.reshape(n, 3, 2, 3, 2, 8).transpose(0, 1, 3, 5, 2, 4).reshape(n, 3, 3, 8, 4)
    choice = windows.argmax(axis=-1)[..., None]
    pooled = np.take_along_axis(windows, choice, axis=-1)[..., 0]  # (n, 3, 3, 8)
    # Flatten channel-major (c, h, w) as PyTorch does, so fc.weight reads like a torch layer's.
    hidden = pooled.transpose(0, 3, 1, 2).reshape(n, 72)
    logits = hidden @ params["fc.weight"].T + params["fc.bias"]
    return logits, (patches, pre, choice, hidden)


def _loss_and_probs(logits, y):
    """Mean softmax cross-entropy and the softmax probabilities (shifted for stability)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(len(y)), y].mean()
    return float(loss), np.exp(log_probs)


def loss_and_gradients(params, x, y):
    """Mean cross-entropy over (x, y) and its gradient for every tensor in `params`."""
    n = len(x)
    logits, (patches, pre, choice, hidden) = _forward(params, x)
    loss, probs = _loss_and_probs(logits, y)
    d_logits = probs
    d_logits[np.arange(n), y] -= 1
    d_logits /= n
    grads = {"fc.weight": d_logits.T @ hidden, "fc.bias": d_logits.sum(axis=0)}
    d_pooled = (d_logits @ params["fc.weight"]).reshape(n, 8, 3, 3).transpose(0, 2, 3, 1)
    # Max-pool passes the gradient to the one window element it picked.
    d_windows = np.zeros((n, 3, 3, 8, 4), dtype=d_pooled.dtype)
    np.put_along_axis(d_windows, choice, d_pooled[..., None], axis=-1)
    d_act = d_windows.reshape(n, 3, 3, 8, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(n, 36, 8)
    d_pre = d_act * (pre > 0)
    grads["conv.weight"] = (d_pre.reshape(-1, 8).T @ patches.reshape(-1, 9)).reshape(8, 1, 3, 3)
    grads["conv.bias"] = d_pre.sum(axis=(0, 1))
    return loss, grads


def train(params, x, y, epochs: int = EPOCHS, lr: float = LR, batch_size: int = BATCH_SIZE, seed: int = 0):
    """Plain minibatch SGD from `params` (left untouched); returns (new float32 params, mean batch loss).

    The batch order depends only on `seed`, so a call is reproducible.
    """
    rng = np.random.default_rng(seed)
    new = {name: np.array(params[name], dtype=np.float32) for name in TENSORS}
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            loss, grads = loss_and_gradients(new, x[batch], y[batch])
            losses.append(loss)
            for name in new:
                new[name] -= np.float32(lr) * grads[name].astype(np.float32)
                # Keep every weight representable in the fixed-point model format.
                np.clip(new[name], -WEIGHT_LIMIT, WEIGHT_LIMIT, out=new[name])
    return new, float(np.mean(losses))


def evaluate(params, x, y):
    """(mean cross-entropy, accuracy) of `params` on (x, y)."""
    logits, _ = _forward(params, x)
    loss, _ = _loss_and_probs(logits, y)
    accuracy = float((logits.argmax(axis=1) == y).mean())
    return loss, accuracy
