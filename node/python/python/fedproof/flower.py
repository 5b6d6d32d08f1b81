"""fedproof for Flower (the Message API, Flower 1.21 and later).

- `FedProof`, a `ServerApp` strategy whose aggregation is a fedproof round: it enrolls the
  clients (each joins the job with its own key and stake), collects their sealed updates, has the
  job's `fedproof.Aggregator` prove the round (outliers, scores, new model) and settle it on chain,
  and hands the settled model back to Flower.
- `fedproof_mod`, a `ClientApp` mod that makes each client a fedproof trainer: after the client's
  own training it commits the update Δ = trained − received on chain and replies with the update
  sealed to the aggregator instead of the plaintext arrays.

The model travels as Flower's `ArrayRecord`; its keys are the job's tensor names, so the job's
model file is `to_safetensors(initial_arrays)`. Other mods compose: with `LocalDpMod` inside
this one (`ClientApp(mods=[fedproof_mod(...), LocalDpMod(...)])`) the committed update is the
clipped, noised one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from logging import INFO, WARNING

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MessageType, MetricRecord, RecordDict
from flwr.common import log
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg, Result
from safetensors.numpy import load, save

from . import UPDATE_CLIP_BOUND, Aggregator, ChainFailure, Trainer

RECORD = "fedproof"
"""The key of the `ConfigRecord` the mod's replies carry (round, slot, tx, sealed update)."""
ROUND_KEY = "fedproof-round"
"""The train config entry naming the fedproof round a Flower round settles."""
JOIN_KEY = "fedproof-join"
"""The config entry of the enrolment message asking a client to join job `value`. The message is
a `train` message without arrays: every ClientApp that trains handles `train`, and the mod
answers it without training (a `query` would need a handler registered in every client)."""


def to_safetensors(arrays: ArrayRecord) -> bytes:
    """The bytes of a safetensors file of `arrays` (float32), named by their keys: the model
    file a job is created from, and the update format `Trainer.commit` reads."""
    return save({name: np.ascontiguousarray(array.numpy(), dtype=np.float32) for name, array in arrays.items()})


def from_safetensors(data: bytes, order: Iterable[str] | None = None) -> ArrayRecord:
    """An `ArrayRecord` of a safetensors file's tensors, in `order` (default: the file's)."""
    tensors = load(data)
    names = list(order) if order is not None else list(tensors)
    return ArrayRecord({name: Array(tensors[name]) for name in names})


class FedProof(FedAvg):
    """A strategy whose aggregation is a proven, settled fedproof round.

    Every client trains every round (the job's slots are fixed when it starts). `aggregator` is
    the job's `fedproof.Aggregator`; `on_enrolled(slots)` is called once every client has joined
    (before round 0 opens), e.g. to tell the owner. The settled rounds' reports (inliers, scores,
    tx, gas, prove time) are kept in `reports`. Other keyword arguments go to `FedAvg`
    (evaluation sampling, metric aggregation).
    """

    def __init__(
        self,
        aggregator: Aggregator,
        *,
        on_enrolled: Callable[[dict[int, int]], None] | None = None,
        **fedavg: object,
    ) -> None:
        n = aggregator.trainers
        fedavg.setdefault("min_evaluate_nodes", min(2, n))
        super().__init__(fraction_train=1.0, min_train_nodes=n, min_available_nodes=n, **fedavg)
        self.aggregator = aggregator
        self.on_enrolled = on_enrolled
        self.reports: list[dict] = []
        self._order: list[str] | None = None

    def start(
        self,
        grid: Grid,
        initial_arrays: ArrayRecord | None = None,
        num_rounds: int | None = None,
        **options: object,
    ) -> Result:
        """Enrolls the clients, posts the bond and runs `num_rounds` Flower rounds (default: the
        job's remaining rounds) from the job's current model. `initial_arrays`, if given, must be
        that model (it fixes the arrays' order); other options go to `Strategy.start`."""
        status = self.aggregator.status()
        if status["status"] != "Active":
            raise RuntimeError(f"job {self.aggregator.job_id} is {status['status']}, not running")
        # The bond goes in before the job starts (and before trainers stake on it).
        self.aggregator.post_bond()
        if status["round"] == 0:
            self._enroll(grid, options.get("timeout", 3600))
        _, model = self.aggregator.model()
        order = list(initial_arrays.keys()) if initial_arrays is not None else None
        arrays = from_safetensors(model, order)
        if initial_arrays is not None:
            _check_same_model(initial_arrays, arrays)
        self._order = list(arrays.keys())
        rounds = status["rounds"] - status["round"] if num_rounds is None else num_rounds
        return super().start(grid=grid, initial_arrays=arrays, num_rounds=rounds, **options)

    def _enroll(self, grid: Grid, timeout: object) -> None:
        """Asks every connected client to join the job (the enrolment message the mod answers)."""
        nodes = list(grid.get_node_ids())
        n = self.aggregator.trainers
        if len(nodes) != n:
            raise RuntimeError(f"job {self.aggregator.job_id} has {n} slots but {len(nodes)} clients are connected")
        content = RecordDict({"config": ConfigRecord({JOIN_KEY: self.aggregator.job_id})})
        messages = [Message(content=content, message_type=MessageType.TRAIN, dst_node_id=node) for node in nodes]
        slots = {}
        for reply in grid.send_and_receive(messages, timeout=float(timeout)):
            if reply.has_error():
                raise RuntimeError(f"client {reply.metadata.src_node_id} did not join: {reply.error.reason}")
            slots[reply.metadata.src_node_id] = int(reply.content[RECORD]["slot"])
        if len(slots) != n:
            raise RuntimeError(f"only {len(slots)} of {n} clients joined job {self.aggregator.job_id}")
        log(INFO, "fedproof: every client joined job %s (node → slot %s)", self.aggregator.job_id, slots)
        if self.on_enrolled is not None:
            self.on_enrolled(slots)

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """FedAvg's train messages to every client, naming the fedproof round they commit to."""
        config[ROUND_KEY] = int(self.aggregator.status()["round"])
        return super().configure_train(server_round, arrays, config, grid)

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Takes each reply's sealed update (the aggregator stores only the blob the client
        committed to), proves and settles the round, and returns the settled model."""
        replies = list(replies)
        delivered = [reply for reply in replies if self._accept(reply)]
        report = self.aggregator.finalize_round()
        if report is None:
            raise RuntimeError(f"job {self.aggregator.job_id} ended before Flower round {server_round}")
        model = report.pop("model")
        self.reports.append(report)
        arrays = from_safetensors(model, self._order)
        present = sum(report["submitted"])
        inliers = sum(report["inliers"])
        metrics = {
            "fedproof-round": report["round"],
            "fedproof-inliers": inliers,
            "fedproof-outliers": present - inliers - len(report["unavailable"]),
            "fedproof-unavailable": len(report["unavailable"]),
            "fedproof-prove-seconds": float(report["prove_seconds"]),
            "fedproof-finalize-gas": int(report["finalize_gas"]),
        }
        log(INFO, "fedproof: round %s settled in tx %s: inliers %s", report["round"], report["tx"], report["inliers"])
        if delivered:
            client = self.train_metrics_aggr_fn([r.content for r in delivered], self.weighted_by_key)
            metrics.update({k: v for k, v in client.items() if k not in metrics})
        return arrays, MetricRecord(metrics)

    def _accept(self, reply: Message) -> bool:
        """Hands a reply's sealed update to the aggregator; False (logged) for an error reply, a
        reply without one, or an update that is not the one committed on chain."""
        node = reply.metadata.src_node_id
        if reply.has_error():
            log(WARNING, "fedproof: client %s failed: %s", node, reply.error.reason)
            return False
        record = reply.content.config_records.get(RECORD)
        if record is None:
            log(WARNING, "fedproof: client %s sent no fedproof update (is fedproof_mod installed?)", node)
            return False
        try:
            self.aggregator.accept(int(record["round"]), int(record["slot"]), bytes(record["sealed"]))
        except ChainFailure as refused:
            log(WARNING, "fedproof: the update of client %s was refused: %s", node, refused)
            return False
        return True


def _check_same_model(given: ArrayRecord, settled: ArrayRecord) -> None:
    """Refuses initial arrays that are not the job's model (up to its encoding's precision)."""
    if set(given.keys()) != set(settled.keys()):
        raise ValueError(f"initial_arrays has tensors {sorted(given.keys())}, the job {sorted(settled.keys())}")
    for name in given.keys():
        if not np.allclose(given[name].numpy(), settled[name].numpy(), atol=2**-18):
            raise ValueError(f"initial_arrays[{name!r}] is not the job's model (create the job from these arrays)")


def fedproof_mod(
    trainer_for: Callable[[Context], Trainer],
) -> Callable[[Message, Context, Callable[[Message, Context], Message]], Message]:
    """A `ClientApp` mod making the client a fedproof trainer; `trainer_for(context)` gives this
    client's `fedproof.Trainer` (its own key; called once per node and kept).

    On the strategy's enrolment message it joins the job with its stake. On a train message it runs the
    client's training (and the mods inside this one), commits Δ = trained − received to the
    round on chain, and replies with the sealed update in place of the trained arrays, so the
    server never reads the plaintext outside fedproof's sealed path. Other messages pass through.
    """
    trainers: dict[int, Trainer] = {}

    def trainer(context: Context) -> Trainer:
        if context.node_id not in trainers:
            trainers[context.node_id] = trainer_for(context)
        return trainers[context.node_id]

    def mod(msg: Message, context: Context, call_next: Callable[[Message, Context], Message]) -> Message:
        config = msg.content.config_records.get("config", ConfigRecord())
        if msg.metadata.message_type == MessageType.TRAIN and JOIN_KEY in config:
            slot = trainer(context).join()
            return Message(content=RecordDict({RECORD: ConfigRecord({"slot": slot})}), reply_to=msg)
        if msg.metadata.message_type != MessageType.TRAIN or ROUND_KEY not in config:
            return call_next(msg, context)
        (sent,) = msg.content.array_records.values()
        reply = call_next(msg, context)
        if reply.has_error():
            return reply
        (key, trained), *more = reply.content.array_records.items()
        if more or set(trained.keys()) != set(sent.keys()):
            raise ValueError("fedproof_mod: the client must reply with one ArrayRecord of the model it received")
        delta = {name: trained[name].numpy().astype(np.float32) - sent[name].numpy().astype(np.float32) for name in sent.keys()}
        round_ = int(config[ROUND_KEY])
        done = trainer(context).commit(save(delta), round=round_, seed=(context.node_id * 1_000_003 + round_) % 2**63)
        if done["clipped"]:
            log(WARNING, "fedproof: %s update values were clipped to ±%.3f", done["clipped"], UPDATE_CLIP_BOUND)
        content = RecordDict({name: record for name, record in reply.content.items() if name != key})
        content[RECORD] = ConfigRecord(
            {
                "round": done["round"],
                "slot": done["slot"],
                "commitment": done["commitment"],
                "tx": done["tx"] or "",
                "clipped": done["clipped"],
                "sealed": done["sealed"],
            }
        )
        return Message(content=content, reply_to=msg)

    return mod

