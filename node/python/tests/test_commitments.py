"""The Python package computes the node's bytes: commitments equal prover/test-vectors, blobs
open as the node's, and bad input raises the documented exceptions."""

import json
import pathlib
import time

import numpy as np
import pytest

import fedproof

VECTORS = pathlib.Path(__file__).resolve().parents[3] / "prover" / "test-vectors" / "commitments.json"


def vectors(kind):
    return [v for v in json.loads(VECTORS.read_text()) if v["kind"] == kind]


def test_update_commitments_equal_the_rust_test_vectors():
    cases = vectors("update")
    assert cases, "no update vectors"
    for v in cases:
        d = v["domain"]
        domain = fedproof.job_domain(d["chain_id"], d["market"], d["job_id"], d["roster"])
        assert domain == int(d["value"])
        _, _, round_, slot = (int(x) for x in v["header"])
        assert fedproof.commit_update(domain, round_, slot, v["values"]) == int(v["commitment"])


def test_model_commitments_equal_the_rust_test_vectors():
    cases = vectors("model")
    assert cases, "no model vectors"
    for v in cases:
        _, job_id, round_ = (int(x) for x in v["header"])
        assert fedproof.commit_model(job_id, round_, v["values"]) == int(v["commitment"])


def test_an_update_is_clipped_and_rounded_reproducibly():
    delta = np.array([0.01, -0.2, 3.0, -3.0, 0.0])
    encoded, clipped = fedproof.encode_update(delta, seed=7)
    assert clipped == 2
    assert encoded[2] == 127 and encoded[3] == -127
    assert fedproof.encode_update(delta, seed=7) == (encoded, clipped)
    assert all(abs(q / 256 - x) <= 1 / 256 for q, x in zip(encoded[:2], delta[:2]))


def test_a_model_round_trips_through_its_encoding():
    weights = [0.5, -1.25, 7.9]
    assert fedproof.decode_model(fedproof.encode_model(weights)) == pytest.approx(weights, abs=2**-20)


def test_bad_input_raises_the_documented_exceptions():
    with pytest.raises(fedproof.EncodingError, match="index 1"):
        fedproof.encode_update([0.0, float("nan")])
    with pytest.raises(fedproof.EncodingError, match="index 0"):
        fedproof.encode_model([100.0])
    with pytest.raises(fedproof.EncodingError):
        fedproof.commit_update(1, 0, 0, [200])
    with pytest.raises(fedproof.SealError):
        fedproof.seal_update("not-an-age-key", 1, 0, 0, [1, 2])
    with pytest.raises(fedproof.AddressError, match="market"):
        fedproof.job_domain(1, "0x1234", 1, [])
    with pytest.raises(TypeError):
        fedproof.encode_update(["a"])
    assert issubclass(fedproof.EncodingError, ValueError)


def test_a_sealed_update_is_not_the_plaintext_blob():
    # A throwaway X25519 recipient in age's bech32 form (the node's `aggregator keygen` prints one).
    recipient = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
    blob = fedproof.update_blob(3, 1, 2, [1, -2, 127])
    sealed = fedproof.seal_update(recipient, 3, 1, 2, [1, -2, 127])
    assert blob[:8] != sealed[:8] and sealed.startswith(b"age-encryption.org/v1")
    assert b"fedproof-update-v2" in blob


def test_committing_and_sealing_a_million_parameters(capsys):
    """Reports the time (the goal, ≤ 1 s, is met by the release build; see the README)."""
    rng = np.random.default_rng(1)
    delta = rng.normal(0, 0.05, 1_000_000)
    start = time.perf_counter()
    encoded, _ = fedproof.encode_update(delta)
    commitment = fedproof.commit_update(12345, 0, 0, encoded)
    sealed = fedproof.seal_update("age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p", 1, 0, 0, encoded)
    elapsed = time.perf_counter() - start
    assert commitment > 0 and len(sealed) > 1_000_000
    with capsys.disabled():
        print(f"\n1M-parameter update: encode + commit + seal in {elapsed:.2f} s")
