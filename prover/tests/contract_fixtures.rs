//! The wire format against the contracts: the committed forge fixtures
//! (`contracts/test/fixtures/round_*.json` and `verifier_args_*.json`, written by
//! `fedproof prover export`) and the contracts' own constants must agree with the prover's
//! packing, unpacking and word formats, or the contracts would check other inputs than we prove.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test should panic

use std::fs;
use std::path::PathBuf;

use ark_bn254::Fr;
use fedproof_prover::export::calldata::{proof_from_words, verifying_key_from_words, SolidityCalldata, Word};
use fedproof_prover::export::field::from_decimal;
use fedproof_prover::params::{RoundParams, CONTEXT_LAYOUT};
use fedproof_prover::round::public_inputs::{
    flags_words, unpack_scores, Flags, INLIER_FLAG_OFFSET, NORM_FLAG_OFFSET, ORDER_RANK_BITS, RANKS_PER_WORD,
    SCORES_PER_WORD, SCORE_BITS,
};
use fedproof_prover::round::{InputWords, PublicInputs};
use fedproof_prover::shape::{public_input_count, Shape, MAX_TRAINERS};
use fedproof_prover::slot_bits;
use fedproof_prover::snark;
use serde_json::Value;

fn contracts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts")
}

fn json(path: &str) -> Value {
    let path = contracts().join(path);
    serde_json::from_str(&fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn field(v: &Value) -> Fr {
    from_decimal(v.as_str().expect("a decimal string")).expect("a field element")
}

fn fields(v: &Value) -> Vec<Fr> {
    v.as_array().expect("an array").iter().map(field).collect()
}

fn words(v: &Value) -> Vec<Word> {
    fields(v).iter().map(Word::from_field).collect()
}

fn bools(v: &Value) -> Vec<bool> {
    v.as_array().expect("an array").iter().map(|b| b.as_bool().expect("a bool")).collect()
}

/// Each round fixture with the verifier arguments of the key its proof is for.
const FIXTURES: [(&str, &str); 6] = [
    ("round_n4.json", "verifier_args_n4.json"),
    ("round_n4_chain0.json", "verifier_args_n4_chain.json"),
    ("round_n4_chain1.json", "verifier_args_n4_chain.json"),
    ("round_n10.json", "verifier_args_n10.json"),
    ("round_n16.json", "verifier_args_n16.json"),
    ("round_demo.json", "verifier_args_demo.json"),
];

#[test]
fn fixtures_are_packed_and_unpacked_as_the_prover_does() {
    for (round_file, _) in FIXTURES {
        let f = json(&format!("test/fixtures/{round_file}"));
        let n = f["trainers"].as_u64().unwrap() as usize;
        let shape = Shape::new(n, f["params"].as_u64().unwrap() as usize).unwrap();
        let inputs = fields(&f["public_inputs"]);
        assert_eq!(inputs.len(), public_input_count(n), "{round_file}");

        // The context unpacks to the fixture's job and round, and packs back to itself.
        let params = RoundParams::from_context(&field(&f["context"])).unwrap();
        assert_eq!((params.job_id, params.round), (f["job_id"].as_u64().unwrap(), f["round"].as_u64().unwrap() as u32));
        params.validate(&shape).unwrap();

        // The prover's packing of the fixture's round reproduces its public inputs word for word.
        let flags = Flags {
            unavailable: bools(&f["unavailable"]),
            inliers: bools(&f["inliers"]),
            aggregate_norm_sq: f["aggregate_norm_sq"].as_u64().unwrap(),
        };
        let numbers =
            |key: &str| -> Vec<u64> { f[key].as_array().unwrap().iter().map(|s| s.as_u64().unwrap()).collect() };
        let scores = numbers("scores");
        let order: Vec<u16> = numbers("order").into_iter().map(|r| r as u16).collect();
        let packed = PublicInputs::new(
            &params,
            field(&f["domain"]),
            [field(&f["aggregate_commitment"]), Fr::from(0u8)], // a round proven whole: H = 0
            fields(&f["update_commitments"]),
            &order,
            &flags,
            &scores,
        );
        assert_eq!(packed.to_vec(), inputs, "{round_file}");
        assert_eq!(packed.flags, fields(&f["flags"]), "{round_file}");

        // And the inputs unpack to the fixture's presence, inliers, ‖S‖², order and scores.
        let public = PublicInputs::from_vec(&shape, &inputs).unwrap();
        assert_eq!(public.flags(n), flags, "{round_file}");
        assert_eq!(public.order(n), order, "{round_file}");
        assert_eq!(public.scores(n), scores, "{round_file}");
        let all_words = words(&f["public_inputs"]);
        let (o, fw) = (n.div_ceil(RANKS_PER_WORD), n.div_ceil(64));
        assert_eq!(unpack_scores(&all_words[4 + n + o + fw..], n), scores, "{round_file}");

        // From the words a contract stores, by name.
        let from_chain = PublicInputs::from_words(InputWords {
            context: all_words[0],
            domain: all_words[1],
            aggregate: all_words[2],
            digest: all_words[3],
            updates: &all_words[4..4 + n],
            order: &all_words[4 + n..4 + n + o],
            flags: &all_words[4 + n + o..4 + n + o + fw],
            scores: &all_words[4 + n + o + fw..],
        })
        .unwrap();
        assert_eq!(from_chain, public, "{round_file}");
        assert_eq!(from_chain.to_words(), all_words, "{round_file}");
        let words = flags_words(&flags.unavailable, &flags.inliers, flags.aggregate_norm_sq);
        assert_eq!(words, public.flags, "{round_file}");
        // A slot is present exactly when it committed and is not declared unavailable.
        let committed = public.updates.iter().map(|c| *c != Fr::from(0u8));
        let present: Vec<bool> = committed.zip(&flags.unavailable).map(|(c, u)| c && !u).collect();
        assert_eq!(present, bools(&f["presence"]), "{round_file}");
    }
}

#[test]
fn fixture_proofs_round_trip_and_verify_against_the_verifier_args() {
    for (round_file, args_file) in FIXTURES {
        let f = json(&format!("test/fixtures/{round_file}"));
        let proof_words: [Word; 8] = words(&f["proof"]).try_into().expect("eight proof words");
        let proof = proof_from_words(&proof_words).unwrap();
        let inputs = fields(&f["public_inputs"]);
        assert_eq!(SolidityCalldata::new(&proof, &inputs).proof_words(), proof_words, "{round_file}");

        let args = json(&format!("test/fixtures/{args_file}"));
        let key: Vec<Word> = ["alpha", "beta", "gamma", "delta"].iter().flat_map(|name| words(&args[*name])).collect();
        let vk = verifying_key_from_words(&key, &words(&args["ic"])).unwrap();
        assert_eq!(snark::trainers_of(&vk), f["trainers"].as_u64().map(|n| n as usize), "{args_file}");
        assert!(snark::verify_inputs(&vk, &inputs, &proof).unwrap(), "{round_file} does not verify with {args_file}");
    }
}

#[test]
fn the_contracts_constants_are_the_provers() {
    // contracts/src/market/PublicInputs.sol restates the layout once for the contracts.
    let source = fs::read_to_string(contracts().join("src/market/PublicInputs.sol")).unwrap();
    let constant = |name: &str| -> u64 {
        let prefix = format!("uint256 constant {name} = ");
        let line = source.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("{name} is declared"));
        line[prefix.len()..].trim_end_matches(';').parse().unwrap_or_else(|_| panic!("{name} is a number: {line}"))
    };
    assert_eq!(constant("SCORE_BITS"), u64::from(SCORE_BITS), "SCORE_BITS");
    assert_eq!(constant("SCORES_PER_WORD"), SCORES_PER_WORD as u64, "SCORES_PER_WORD");
    assert_eq!(constant("INLIER_FLAG_OFFSET"), INLIER_FLAG_OFFSET as u64, "inlier offset");
    assert_eq!(constant("NORM_FLAG_OFFSET"), NORM_FLAG_OFFSET as u64, "‖S‖² offset");
    assert_eq!(constant("ORDER_RANK_BITS"), u64::from(ORDER_RANK_BITS), "ORDER_RANK_BITS");
    assert_eq!(constant("RANKS_PER_WORD"), RANKS_PER_WORD as u64, "RANKS_PER_WORD");
    assert_eq!(constant("FLAG_SLOTS_PER_WORD"), slot_bits::SLOTS_PER_WORD as u64, "FLAG_SLOTS_PER_WORD");
    // Context, domain, C(w) and C(w') come first, then the n update commitments.
    assert_eq!(constant("DOMAIN_INPUT"), 1, "the domain follows the context");
    assert_eq!(constant("UPDATES_INPUT"), 4, "the updates follow context, domain, C(w), C(w')");
    for (name, offset, _) in &CONTEXT_LAYOUT[1..] {
        let solidity = format!("CTX_{}_OFFSET", name.to_uppercase());
        assert_eq!(constant(&solidity), u64::from(*offset), "{solidity}");
    }
    // PublicInputs.count(n) = UPDATES_INPUT + n + ceil(n / RANKS_PER_WORD)
    //     + ceil(n / FLAG_SLOTS_PER_WORD) + ceil(n / SCORES_PER_WORD).
    for n in 1..=MAX_TRAINERS as u64 {
        let solidity = constant("UPDATES_INPUT")
            + n
            + n.div_ceil(constant("RANKS_PER_WORD"))
            + n.div_ceil(constant("FLAG_SLOTS_PER_WORD"))
            + n.div_ceil(constant("SCORES_PER_WORD"));
        assert_eq!(solidity, public_input_count(n as usize) as u64, "public inputs of {n} slots");
    }
    assert!(source.contains("return scoreIndex(n, scoreWords(n));"), "count(n) is the index after the last score word");
    let storage = fs::read_to_string(contracts().join("src/market/MarketStorage.sol")).unwrap();
    assert!(storage.contains(&format!("uint256 constant MAX_SLOTS = {MAX_TRAINERS};")), "the market's slot limit");
}
