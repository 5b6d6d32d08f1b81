"""Runs the Flower digits example end to end on a local anvil: deploys a market for 5 trainers ×
the CNN's parameters, posts a job for the CNN's initial weights, runs Flower's simulation with
the fedproof strategy (one client flipping signs), lets every trainer withdraw, and compares
with Flower's plain FedAvg over the honest clients. Prints a summary, or JSON with --json.
With --torch the clients train and the server evaluates with the PyTorch model (task_torch.py,
needs `pip install torch`) instead of the NumPy one: same tensors, same data, same job.

    target/pyenv/bin/python node/python/examples/flower_digits/run.py [--rounds 3] [--local-dp] [--torch] [--json]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from flwr.simulation import run_simulation  # noqa: E402

import app  # noqa: E402
import devchain  # noqa: E402
from app import Settings  # noqa: E402

BUDGET = 10**18
# Ray runs at most this many clients at once (2 cores here): each takes one CPU.
BACKEND = {"client_resources": {"num_cpus": 1, "num_gpus": 0.0}}
# The job's architecture label names the code that trains it; the model format is the same.
ARCHITECTURES = {"task": "digits-cnn-numpy", "task_torch": "digits-cnn-torch"}


def simulate(server, client, clients: int) -> None:
    """Flower's simulation runtime: the ServerApp in this process, the clients in Ray workers,
    which import this example's modules (hence the path)."""
    here = str(pathlib.Path(__file__).resolve().parent)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    run_simulation(server_app=server, client_app=client, num_supernodes=clients, backend_config=BACKEND)


def run_fedavg(settings: Settings) -> dict:
    """Flower's plain FedAvg over the honest clients only (the attackers left out, no DP)."""
    honest = Settings(
        clients=settings.partitions - len(settings.sign_flippers), partitions=settings.partitions,
        rounds=settings.rounds, sign_flippers=(), seed=settings.seed, task=settings.task,
    )
    started = time.time()
    simulate(app.fedavg_server_app(honest), app.client_app(honest), honest.clients)
    return {"accuracy": honest.results["accuracy"], "seconds": time.time() - started}


def run_fedproof(settings: Settings, workdir: pathlib.Path) -> dict:
    """The fedproof job on a fresh anvil: deploy, post the job, Flower rounds, withdrawals."""
    import fedproof
    from fedproof.flower import to_safetensors

    model = importlib.import_module(settings.task)
    with devchain.anvil() as chain:
        n, d = settings.clients, sum(int(np.prod(s)) for s in model.TENSORS.values())
        market = devchain.deploy(chain, n, d, workdir)
        storage = str(workdir / "storage")
        owner = fedproof.Owner(chain.url, market.market, chain.keys[0], storage=storage)
        job = owner.create_job(
            to_safetensors(app.to_arrays(model.init_model(settings.seed))), aggregator=chain.addresses[1],
            aggregator_recipient=market.recipient, verifier=market.verifier, trainers=n, rounds=settings.rounds,
            budget=BUDGET, architecture=ARCHITECTURES[settings.task], start_delay=3600,
        )
        settings.chain = {
            "rpc": chain.url, "market": market.market, "job": job, "trainer_keys": chain.keys[2 : 2 + n],
            "aggregator_key": chain.keys[1], "sealing_key": market.sealing_key, "keys": market.keys,
            "storage": storage,
        }
        start = owner.status(job)

        def on_enrolled(slots: dict[int, int]) -> None:
            # Every client joined: on a dev chain, skip the hour the job gave them to join.
            del slots
            chain.skip_to(int(time.time()) + 3600)

        started = time.time()
        simulate(app.fedproof_server_app(settings, on_enrolled), app.client_app(settings), n)
        seconds = time.time() - started
        trainers = [fedproof.Trainer(chain.url, market.market, job, k, storage=storage) for k in chain.keys[2 : 2 + n]]
        withdrawn = [t.withdraw() for t in trainers]
        slots = [t.join() for t in trainers]  # already joined: their slots
        paid = owner.payouts(job)
        rounds = owner.rounds(job)
    flippers = {slots[p] for p in settings.sign_flippers}
    honest_paid = sum(paid[s] for s in range(n) if s not in flippers)
    return {
        "job": job,
        "model_commitment_before": start["model"],
        "accuracy": settings.results["accuracy"],
        "reports": settings.results["reports"],
        "rounds": rounds,
        "slots_by_partition": slots,
        "sign_flipper_slots": sorted(flippers),
        "paid": paid,
        "withdrawn": withdrawn,
        "honest_share_of_budget": honest_paid / BUDGET,
        "seconds": seconds,
    }


def summary(fedproof_run: dict, fedavg_run: dict) -> str:
    lines = [f"job {fedproof_run['job']}: {len(fedproof_run['reports'])} rounds settled on anvil"]
    for report in fedproof_run["reports"]:
        flagged = [s for s, inlier in enumerate(report["inliers"]) if not inlier]
        lines.append(
            f"  round {report['round']}: flagged slots {flagged} (sign flippers {fedproof_run['sign_flipper_slots']}), "
            f"proved in {report['prove_seconds']:.1f} s, finalize gas {report['finalize_gas']}"
        )
    last = max(fedproof_run["accuracy"])
    lines.append(f"  accuracy: fedproof {fedproof_run['accuracy'][last]:.3f}, "
                 f"plain FedAvg without the attacker {fedavg_run['accuracy'][last]:.3f}")
    lines.append(f"  paid per slot (wei): {fedproof_run['paid']}; honest share {fedproof_run['honest_share_of_budget']:.4f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--local-dp", action="store_true", help="clients run Flower's LocalDpMod inside fedproof's mod")
    parser.add_argument("--noise", type=float, default=0.01, help="with --local-dp: the noise's standard deviation")
    parser.add_argument("--torch", action="store_true", help="the PyTorch model (task_torch.py) instead of NumPy's")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = Settings(
        rounds=args.rounds, local_dp=local_dp(args.noise) if args.local_dp else None,
        task="task_torch" if args.torch else "task",
    )
    with tempfile.TemporaryDirectory() as tmp:
        proven = run_fedproof(settings, pathlib.Path(tmp))
    baseline = run_fedavg(settings)
    if args.json:
        print(json.dumps({"fedproof": proven, "fedavg": baseline}, default=str))
    else:
        print(summary(proven, baseline))


def local_dp(noise: float) -> tuple[float, float, float, float]:
    """LocalDpMod's arguments for Gaussian noise of standard deviation `noise` on each value,
    after clipping the update's L2 norm to 2 (honest updates here have norms 1.0 to 1.9, so the
    clipping rarely binds; σ = sensitivity·√(2 ln(1.25/δ))/ε)."""
    delta = 1e-5
    epsilon = float(np.sqrt(2 * np.log(1.25 / delta)))  # σ = sensitivity
    return (2.0, noise, epsilon, delta)


if __name__ == "__main__":
    main()
