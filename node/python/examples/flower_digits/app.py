"""The Flower apps of the example: a `ClientApp` training the CNN of `task.py` (NumPy) or
`task_torch.py` (PyTorch) on its digits partition (some clients flip the sign of their update),
and `ServerApp`s running either the fedproof strategy or Flower's plain FedAvg. Built by
functions of a `Settings`, so one script can run both on the same data."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.clientapp.mod import LocalDpMod
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

import task


@dataclass
class Settings:
    """What the apps share: the clients, the attackers, and (for fedproof) the job."""

    clients: int = 5
    # The digits are split into this many partitions; client i trains on partition i (the
    # baseline runs the honest clients only, on the same partitions).
    partitions: int = 5
    rounds: int = 3
    sign_flippers: tuple[int, ...] = (4,)
    seed: int = 0
    # The module with the model code: "task" (NumPy) or "task_torch" (PyTorch). Named rather than
    # imported so that the NumPy path never imports torch, and each Ray worker imports it itself.
    task: str = "task"
    # LocalDpMod's (clipping norm, sensitivity, epsilon, delta), or None.
    local_dp: tuple[float, float, float, float] | None = None
    # For fedproof: rpc, market, job, the trainers' keys by partition, the aggregator's key,
    # sealing key, Groth16 keys and storage directories.
    chain: dict = field(default_factory=dict)
    # Filled by the server app: the strategy's reports and the centralized accuracy per round.
    results: dict = field(default_factory=dict)


def to_arrays(params: dict[str, np.ndarray], order=task.TENSORS) -> ArrayRecord:
    """The model as Flower's ArrayRecord, its arrays in `order` (a reply keeps the order of the
    arrays it received: mods such as LocalDpMod compare the keys in order). The default order is
    the NumPy module's; task_torch has the same tensor names in the same order."""
    return ArrayRecord({name: Array(np.asarray(params[name], dtype=np.float32)) for name in order})


def to_params(arrays: ArrayRecord) -> dict[str, np.ndarray]:
    return {name: arrays[name].numpy() for name in arrays.keys()}


def client_app(settings: Settings) -> ClientApp:
    """The clients: each trains on partition `partition-id`; sign flippers reply with the
    received model minus their update."""
    mods = []
    if settings.chain:
        import fedproof
        from fedproof.flower import fedproof_mod

        chain = settings.chain

        def trainer_for(context: Context) -> fedproof.Trainer:
            key = chain["trainer_keys"][int(context.node_config["partition-id"])]
            return fedproof.Trainer(chain["rpc"], chain["market"], chain["job"], key, storage=chain["storage"])

        mods.append(fedproof_mod(trainer_for))
    if settings.local_dp is not None:
        mods.append(LocalDpMod(*settings.local_dp))
    app = ClientApp(mods=mods)

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        model = importlib.import_module(settings.task)
        partition = int(context.node_config["partition-id"])
        x, y = model.load_data(partition, settings.partitions, settings.seed)
        arrays = msg.content["arrays"]
        received = to_params(arrays)
        round_ = int(msg.content["config"]["server-round"])
        trained, loss = model.train(
            received, x, y, model.EPOCHS, model.LR, model.BATCH_SIZE, seed=1000 * round_ + partition
        )
        if partition in settings.sign_flippers:
            trained = {name: received[name] - (trained[name] - received[name]) for name in received}
        metrics = MetricRecord({"train_loss": float(loss), "num-examples": len(x)})
        reply = RecordDict({"arrays": to_arrays(trained, arrays.keys()), "metrics": metrics})
        return Message(content=reply, reply_to=msg)

    return app


def evaluate_fn(settings: Settings):
    """Centralized evaluation on the held-out digits, kept in `settings.results`."""
    model = importlib.import_module(settings.task)
    x, y = model.test_data(settings.seed)

    def evaluate(server_round: int, arrays: ArrayRecord) -> MetricRecord:
        loss, accuracy = model.evaluate(to_params(arrays), x, y)
        settings.results.setdefault("accuracy", {})[server_round] = float(accuracy)
        return MetricRecord({"loss": float(loss), "accuracy": float(accuracy)})

    return evaluate


def fedproof_server_app(settings: Settings, on_enrolled=None) -> ServerApp:
    """The ServerApp whose aggregation is a fedproof round (proved and settled on chain)."""
    import fedproof
    from fedproof.flower import FedProof

    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        chain = settings.chain
        aggregator = fedproof.Aggregator(
            chain["rpc"], chain["market"], chain["job"], chain["aggregator_key"], chain["sealing_key"], chain["keys"],
            storage=chain["storage"],
        )
        strategy = FedProof(aggregator, fraction_evaluate=0.0, on_enrolled=on_enrolled)
        result = strategy.start(grid=grid, num_rounds=settings.rounds, evaluate_fn=evaluate_fn(settings))
        settings.results["reports"] = strategy.reports
        settings.results["final"] = to_params(result.arrays)

    return app


def fedavg_server_app(settings: Settings) -> ServerApp:
    """Flower's plain FedAvg from the same initial model: the baseline."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        strategy = FedAvg(fraction_evaluate=0.0, min_train_nodes=settings.clients, min_available_nodes=settings.clients)
        initial = to_arrays(importlib.import_module(settings.task).init_model(settings.seed))
        result = strategy.start(
            grid=grid, initial_arrays=initial, num_rounds=settings.rounds, train_config=ConfigRecord(),
            evaluate_fn=evaluate_fn(settings),
        )
        settings.results["final"] = to_params(result.arrays)

    return app
