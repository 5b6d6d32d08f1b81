"""The digits CNN of `task.py` in PyTorch, with the same interface: `run.py --torch` trains with
this module instead. Data, initial weights and hyperparameters come from `task.py`; only the
model, `train` and `evaluate` differ. The module's state_dict keys and shapes are `TENSORS`, so
parameters travel as the same dict of float32 arrays (and the same fedproof model).

Not part of any test: PyTorch is too big for CI.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from task import BATCH_SIZE, EPOCHS, LR, TENSORS, WEIGHT_LIMIT, init_model, load_data, test_data

__all__ = ["BATCH_SIZE", "EPOCHS", "LR", "TENSORS", "Net", "evaluate", "init_model", "load_data", "test_data", "train"]


class Net(nn.Module):
    """conv 3x3 (valid) -> ReLU -> 2x2 max-pool -> linear: (n, 1, 8, 8) images to (n, 10) logits."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3)
        self.fc = nn.Linear(72, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = F.max_pool2d(F.relu(self.conv(x)), 2)
        # Flattened channel-major (c, h, w), which is the layout task.py's fc.weight assumes.
        return self.fc(hidden.flatten(1))


def _net(params) -> Net:
    """A Net holding `params` (copied: the caller's arrays are left untouched)."""
    net = Net()
    state = {name: torch.tensor(np.asarray(params[name], dtype=np.float32)) for name in TENSORS}
    # strict: a missing or extra name is an error, not a silently random weight.
    net.load_state_dict(state, strict=True)
    return net


def _params(net: Net) -> dict[str, np.ndarray]:
    state = net.state_dict()
    return {name: state[name].detach().numpy().astype(np.float32, copy=True) for name in TENSORS}


def _images(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float32)).unsqueeze(1)


def train(params, x, y, epochs: int = EPOCHS, lr: float = LR, batch_size: int = BATCH_SIZE, seed: int = 0):
    """Plain minibatch SGD from `params` (left untouched); returns (new float32 params, mean batch loss).

    The batch order depends only on `seed`, so a call is reproducible.
    """
    # Ray runs two clients at once on two cores: more threads each would only contend.
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    net = _net(params)
    images, labels = _images(x), torch.as_tensor(np.asarray(y, dtype=np.int64))
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(labels))
        for batch in order.split(batch_size):
            optimizer.zero_grad()
            loss = F.cross_entropy(net(images[batch]), labels[batch])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            with torch.no_grad():
                # Keep every weight representable in the fixed-point model format.
                for weight in net.parameters():
                    weight.clamp_(-WEIGHT_LIMIT, WEIGHT_LIMIT)
    return _params(net), float(np.mean(losses))


@torch.no_grad()
def evaluate(params, x, y):
    """(mean cross-entropy, accuracy) of `params` on (x, y)."""
    logits = _net(params)(_images(x))
    labels = torch.as_tensor(np.asarray(y, dtype=np.int64))
    loss = F.cross_entropy(logits, labels).item()
    accuracy = (logits.argmax(dim=1) == labels).double().mean().item()
    return float(loss), float(accuracy)
