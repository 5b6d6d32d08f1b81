"""fedproof.Trainer on a real anvil: a job posted from a model file with the `fedproof` binary,
four Python trainers who join and submit safetensors updates (one reversed and amplified), the
binary's aggregator proving and settling the round; and the documented exceptions."""

import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest
from safetensors.numpy import load, save

import fedproof

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples" / "flower_digits"))
from devchain import anvil, cli, deploy, fedproof_binary, rpc  # noqa: E402

SHAPES = {"conv.weight": (2, 1, 2, 2), "fc.bias": (2,), "fc.weight": (2, 3)}  # 16 parameters
run = cli


def tensors(seed, scale):
    rng = np.random.default_rng(seed)
    return {name: rng.uniform(-scale, scale, shape).astype(np.float32) for name, shape in SHAPES.items()}


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """A one-round job for 4 trainers on a fresh anvil, and its aggregator running."""
    tmp = tmp_path_factory.mktemp("job")
    with anvil() as chain:
        url, keys, addresses = chain.url, chain.keys, chain.addresses
        market = deploy(chain, 4, 16, tmp)
        blobs = str(tmp / "blobs")
        model = tmp / "init.safetensors"
        model.write_bytes(save(tensors(1, 0.5)))
        created = run(
            ["owner", "create-job", "--rpc", url, "--market", market.market, "--storage", blobs, "--aggregator",
             addresses[1], "--aggregator-recipient", market.recipient, "--verifier", market.verifier, "--trainers",
             "4", "--budget", "1000000000000000000", "--model", str(model), "--rounds", "1", "--max-malicious", "1",
             "--start-delay", "3600"],
            keys[0],
        )
        job_id = created["job_id"]
        aggregator = subprocess.Popen(
            [str(fedproof_binary()), "aggregator", "run", "--rpc", url, "--market", market.market, "--job",
             str(job_id), "--storage", blobs, "--keys", market.keys, "--sealing-key", market.sealing_key,
             "--upload-grace", "5", "--json"],
            env={**os.environ, "FEDPROOF_PRIVATE_KEY": keys[1]},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            yield {
                "url": url, "market": market.market, "job": job_id, "keys": keys, "addresses": addresses,
                "blobs": blobs, "aggregator": aggregator, "recipient": market.recipient,
                "verifier": market.verifier, "sealing_key": market.sealing_key, "keys_dir": market.keys,
            }
        finally:
            aggregator.kill()
            aggregator.wait()


def test_python_trainers_submit_and_the_attacker_is_flagged(job):
    trainers = [
        fedproof.Trainer(job["url"], job["market"], job["job"], job["keys"][2 + i], storage=job["blobs"])
        for i in range(4)
    ]
    assert trainers[0].layout == [(n, list(s), "F32") for n, s in SHAPES.items()]
    slots = [t.join() for t in trainers]
    # Round 0 opens once the aggregator has posted its bond: then move chain time to the start.
    status = ["owner", "status", "--rpc", job["url"], "--market", job["market"], "--job", str(job["job"]),
              "--storage", job["blobs"]]
    deadline = time.time() + 120
    while not run(status, job["keys"][0])["bond_posted"]:
        assert time.time() < deadline and job["aggregator"].poll() is None, "the aggregator posted no bond"
        time.sleep(0.2)
    rpc(job["url"], "evm_increaseTime", [3600])
    rpc(job["url"], "evm_mine", [])
    direction = tensors(42, 0.15)
    for i, t in enumerate(trainers):
        if i == 3:
            update = {n: -4 * d for n, d in direction.items()}
        else:
            noise = tensors(100 + i, 0.04)
            update = {n: d + noise[n] for n, d in direction.items()}
        done = t.submit(save(update), round=0)
        assert done["round"] == 0 and done["tx"] and (done["clipped"] > 0) == (i == 3)
    out, err = job["aggregator"].communicate(timeout=600)
    assert job["aggregator"].returncode == 0, err
    (report,) = json.loads(out)
    assert [report["inliers"][s] for s in slots] == [True, True, True, False]
    assert report["scores"][slots[3]] == 0
    # What the chain has of the round, read from Python, is what the aggregator proved.
    owner = fedproof.Owner(job["url"], job["market"], job["keys"][0], storage=job["blobs"])
    (settled,) = owner.rounds(job["job"])
    assert (settled["round"], settled["tx"]) == (0, report["tx"])
    assert (settled["inliers"], settled["scores"]) == (report["inliers"], report["scores"])
    assert settled["unavailable"] == [False] * 4 and len(settled["proof"]) == 8


def test_bad_input_raises_the_documented_exceptions(job):
    with pytest.raises(fedproof.UnknownJobError, match="job 99 does not exist"):
        fedproof.Trainer(job["url"], job["market"], 99, job["keys"][2], storage=job["blobs"])
    with pytest.raises(fedproof.WrongNetworkError, match="wrong network"):
        fedproof.Trainer(job["url"], job["market"], job["job"], job["keys"][2], storage=job["blobs"], chain_id=1)
    with pytest.raises(fedproof.AddressError):
        fedproof.Trainer(job["url"], "0x12", job["job"], job["keys"][2])
    with pytest.raises(ValueError, match="private_key"):
        fedproof.Trainer(job["url"], job["market"], job["job"], "not-a-key")
    t = fedproof.Trainer(job["url"], job["market"], job["job"], job["keys"][6], storage=job["blobs"])
    with pytest.raises(fedproof.ModelFileError, match="not a safetensors file"):
        t.submit(b"garbage")
    reshaped = {**tensors(1, 0.1), "fc.bias": np.zeros(3, np.float32)}
    with pytest.raises(fedproof.ModelFileError, match=r'tensor "fc.bias" has shape \[3\]'):
        t.submit(save(reshaped))
    nan = tensors(1, 0.1)
    nan["fc.weight"][1, 2] = np.nan
    with pytest.raises(fedproof.ModelFileError, match=r'"fc.weight" holds NaN at flat index 5'):
        t.submit(save(nan))
    with pytest.raises(fedproof.ModelFileError, match="has dtype I32"):
        t.submit(save({**tensors(1, 0.1), "fc.bias": np.zeros(2, np.int32)}))


def test_an_owner_posts_a_job_from_python_and_downloads_its_model(job):
    owner = fedproof.Owner(job["url"], job["market"], job["keys"][0], storage=job["blobs"])
    model = tensors(5, 0.5)
    created = owner.create_job(
        save(model), aggregator=first_aggregator(job), aggregator_recipient=job["recipient"],
        verifier=job["verifier"], trainers=4, rounds=2, budget=10**18, architecture="tiny-cnn",
        recipe=("ipfs://recipe", "ab" * 32),
    )
    assert created == job["job"] + 1
    status = owner.status(created)
    assert (status["status"], status["round"], status["rounds"], status["trainers"]) == ("Active", 0, 2, 4)
    round_, data = owner.download_model(created)
    downloaded = load(data)
    assert round_ == 0 and set(downloaded) == set(SHAPES)
    for name, values in model.items():
        assert np.allclose(downloaded[name], values, atol=2**-20)
    with pytest.raises(fedproof.ModelFileError, match=r'tensor "fc.bias", flat index 0'):
        owner.create_job(
            save({**model, "fc.bias": np.array([100.0, 0.0], np.float32)}), aggregator=first_aggregator(job),
            aggregator_recipient=job["recipient"], verifier=job["verifier"], trainers=4, rounds=1, budget=10**18,
        )
    with pytest.raises(ValueError, match="tau must be"):
        owner.create_job(
            save(model), aggregator=first_aggregator(job), aggregator_recipient=job["recipient"],
            verifier=job["verifier"], trainers=4, rounds=1, budget=10**18, tau=0.5,
        )
    with pytest.raises(fedproof.UnknownJobError):
        owner.status(99)


def first_aggregator(job):
    return job["addresses"][1]


def test_an_aggregator_refuses_bad_keys_and_updates_nobody_committed(job, tmp_path):
    args = (job["url"], job["market"], job["job"], job["keys"][1])
    with pytest.raises(ValueError, match="no proving key for"):
        fedproof.Aggregator(*args, job["sealing_key"], str(tmp_path / "no-keys"), storage=job["blobs"])
    with pytest.raises(ValueError, match="sealing_key"):
        fedproof.Aggregator(*args, str(tmp_path / "missing.age"), job["keys_dir"], storage=job["blobs"])
    with pytest.raises(ValueError, match="upload_grace"):
        fedproof.Aggregator(*args, job["sealing_key"], job["keys_dir"], storage=job["blobs"], upload_grace=-1)
    aggregator = fedproof.Aggregator(*args, job["sealing_key"], job["keys_dir"], storage=job["blobs"])
    assert (aggregator.job_id, aggregator.trainers) == (job["job"], 4)
    # A blob nobody committed to is not stored (a client cannot fill the aggregator's disk).
    with pytest.raises(fedproof.ChainFailure, match="has not committed to an update in round 5"):
        aggregator.accept(5, 0, b"junk")
    # Nor one other than the committed blob (a copied or altered update).
    with pytest.raises(fedproof.ChainFailure, match="is not the one it committed to"):
        aggregator.accept(0, 0, b"junk")
