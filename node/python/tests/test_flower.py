"""The Flower example on a real anvil: 5 Flower clients (one flipping the sign of its update) in
3 rounds of the fedproof strategy, each round proven and settled on chain, then every trainer
withdraws; and Flower's plain FedAvg over the 4 honest clients as the baseline."""

import pathlib
import sys

import numpy as np
import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "flower_digits"
sys.path.insert(0, str(EXAMPLE))

import run as example  # noqa: E402
from app import Settings, to_arrays  # noqa: E402
import task  # noqa: E402

from fedproof.flower import _check_same_model, from_safetensors, to_safetensors  # noqa: E402

ROUNDS = 3


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    proven = example.run_fedproof(Settings(rounds=ROUNDS), tmp_path_factory.mktemp("flower"))
    baseline = example.run_fedavg(Settings(rounds=ROUNDS))
    return proven, baseline


def test_the_sign_flipper_is_flagged_every_round(runs):
    proven, _ = runs
    (flipper,) = proven["sign_flipper_slots"]
    assert [r["round"] for r in proven["reports"]] == list(range(ROUNDS))
    for report in proven["reports"]:
        assert report["submitted"] == [True] * 5 and report["unavailable"] == []
        assert report["inliers"] == [slot != flipper for slot in range(5)], report
        assert report["scores"][flipper] == 0


def test_honest_clients_are_paid_at_least_95_percent_of_the_budget(runs):
    proven, _ = runs
    (flipper,) = proven["sign_flipper_slots"]
    assert proven["paid"][flipper] == 0
    assert proven["honest_share_of_budget"] >= 0.95, proven["paid"]
    assert proven["withdrawn"] == [proven["paid"][slot] for slot in proven["slots_by_partition"]]


def test_accuracy_is_within_two_points_of_plain_fedavg_without_the_attacker(runs):
    proven, baseline = runs
    fedproof_accuracy, fedavg_accuracy = proven["accuracy"][ROUNDS], baseline["accuracy"][ROUNDS]
    assert fedavg_accuracy > 0.8, baseline
    assert fedproof_accuracy >= fedavg_accuracy - 0.02, (proven["accuracy"], baseline["accuracy"])


def test_the_chain_has_what_the_strategy_reported(runs):
    proven, _ = runs
    assert len(proven["rounds"]) == ROUNDS
    for settled, report in zip(proven["rounds"], proven["reports"]):
        assert (settled["round"], settled["tx"]) == (report["round"], report["tx"])
        assert (settled["inliers"], settled["scores"]) == (report["inliers"], report["scores"])
        assert len(settled["proof"]) == 8


def test_models_cross_between_flower_and_safetensors_by_name():
    arrays = to_arrays(task.init_model(3))
    back = from_safetensors(to_safetensors(arrays), order=reversed(list(arrays.keys())))
    assert list(back.keys()) == list(reversed(list(arrays.keys())))
    for name in arrays.keys():
        assert np.array_equal(back[name].numpy(), arrays[name].numpy())
    _check_same_model(arrays, back)
    other = to_arrays(task.init_model(4))
    with pytest.raises(ValueError, match="is not the job's model"):
        _check_same_model(other, arrays)
