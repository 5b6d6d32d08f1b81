"""A local fedproof market for examples and tests: anvil from the repository's npm packages and
the `fedproof` binary (built by cargo) to deploy the contracts and the shape's Groth16 keys."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass

ROOT = pathlib.Path(__file__).resolve().parents[4]
ANVIL = ROOT / "contracts" / "node_modules" / ".bin" / "anvil"


def fedproof_binary() -> pathlib.Path:
    """`$FEDPROOF_BIN`, else the newest of cargo's release and debug builds."""
    if "FEDPROOF_BIN" in os.environ:
        return pathlib.Path(os.environ["FEDPROOF_BIN"])
    built = [p for p in (ROOT / "target" / "release" / "fedproof", ROOT / "target" / "debug" / "fedproof") if p.exists()]
    if not built:
        raise FileNotFoundError("no fedproof binary: run `cargo build -p fedproof` (or set FEDPROOF_BIN)")
    return max(built, key=lambda p: p.stat().st_mtime)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rpc(url: str, method: str, params: list) -> object:
    """One JSON-RPC call (anvil's `evm_increaseTime`, `evm_mine`, …)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())["result"]


def cli(args: list[str], key: str = "") -> dict:
    """Runs the fedproof binary with `--json` (signing with `key`) and returns what it printed."""
    env = {**os.environ, "FEDPROOF_PRIVATE_KEY": key}
    done = subprocess.run(
        [str(fedproof_binary()), *args, "--json"], env=env, capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        raise RuntimeError(f"fedproof {' '.join(args[:2])} failed: {done.stderr}")
    return json.loads(done.stdout)


@dataclass
class Chain:
    """A running anvil: its URL and its funded accounts."""

    url: str
    keys: list[str]
    addresses: list[str]

    def skip_to(self, timestamp: int) -> None:
        """Moves chain time to `timestamp` (if later) and mines a block there."""
        latest = int(rpc(self.url, "eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
        if timestamp > latest:
            rpc(self.url, "evm_setNextBlockTimestamp", [timestamp])
            rpc(self.url, "evm_mine", [])


@contextlib.contextmanager
def anvil(accounts: int = 10):
    """Starts anvil on a free port and stops it (and npm's wrapper) on exit."""
    port = free_port()
    config = pathlib.Path(f"/tmp/fedproof-anvil-{port}.json")
    # npm's `anvil` is a node script that starts the binary: a session of its own lets the exit
    # stop both.
    process = subprocess.Popen(
        [str(ANVIL), "--port", str(port), "--accounts", str(accounts), "--config-out", str(config)],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 30
        while not config.exists() or not config.read_text().strip().endswith("}"):
            if time.time() > deadline or process.poll() is not None:
                raise RuntimeError("anvil did not start")
            time.sleep(0.1)
        written = json.loads(config.read_text())
        yield Chain(f"http://127.0.0.1:{port}", written["private_keys"], written["available_accounts"])
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        config.unlink(missing_ok=True)


@dataclass
class Market:
    """A deployed market for one shape, with an aggregator's sealing key and keys on disk."""

    market: str
    verifier: str
    keys: str
    sealing_key: str
    recipient: str


def deploy(chain: Chain, trainers: int, params: int, workdir: pathlib.Path) -> Market:
    """Deploys registry, market and a verifier for `trainers` × `params` (Groth16 setup, keys in
    `workdir/keys`) and makes an aggregator sealing key."""
    keys, sealing = str(workdir / "keys"), str(workdir / "aggregator.age")
    stack = cli(["deploy", "--rpc", chain.url, "--trainers", str(trainers), "--params", str(params), "--keys", keys],
                chain.keys[0])
    recipient = cli(["aggregator", "keygen", "--out", sealing])["recipient"]
    return Market(stack["market"], stack["verifier"], keys, sealing, recipient)
