#!/usr/bin/env node
// Formats the GasBench logs (forge test --match-contract GasBench -vv, on stdin) as a table and a
// final JSON line. Gas figures are measured with real proofs; see test/GasBench.t.sol for how.
'use strict';
const lines = require('fs').readFileSync(0, 'utf8').split('\n');
const g = {};
for (const line of lines) {
  const m = line.match(/^\s+([a-z0-9_]+): (\d+)$/);
  if (m) g[m[1]] = Number(m[2]);
}
const need = ['finalize_4_tx', 'finalize_10_tx', 'finalize_16_tx', 'finalize_generic_10_tx',
  'claim_first_10_tx', 'claim_first_fresh_10_tx', 'claim_later_10_tx', 'submit_first_tx', 'submit_tx',
  'generic_verifier_deploy_exec_10', 'reliability_single_tx',
  'reliability_batch_tx_10', 'reliability_batch_tx_100',
  'verify_single_exec', 'verify_batch_1_exec', 'verify_batch_2_exec', 'verify_batch_3_exec',
  'finalize_chunked_32_tx', 'challenge_chunk_tx', 'answer_chunk_32_tx', 'refute_round_tx'];
for (const k of need) {
  if (!(k in g)) {
    process.stderr.write(`bench-gas: missing ${k} in the forge output\n`);
    process.exit(1);
  }
}
const pct = (a, b) => `${((100 * a) / b).toFixed(1)} %`;
const row = (cells) => console.log(cells.map((c, i) => String(c).padEnd(i === 0 ? 56 : 12)).join(''));
const pair = (label, key) => row([label, g[`${key}_exec`], g[`${key}_tx`]]);
console.log('Gas (exec = the call, cold storage; tx = exec + 21000 + calldata - 2600 warm `to`)');
row(['', 'exec', 'tx']);
for (const n of [4, 10, 16]) pair(`finalizeRound n=${n}`, `finalize_${n}`);
for (const n of [4, 10, 16]) pair(`finalizeRound n=${n}, generic RoundVerifier`, `finalize_generic_${n}`);
const per = (key, col) => ((g[`${key}_16_${col}`] - g[`${key}_4_${col}`]) / 12).toFixed(0);
row(['finalizeRound per extra trainer (4 -> 16)', per('finalize', 'exec'), per('finalize', 'tx')]);
for (const n of [4, 10, 16]) pair(`first claim n=${n} (writes n observations; records exist)`, `claim_first_${n}`);
for (const n of [4, 10, 16]) pair(`first claim n=${n} (new records)`, `claim_first_fresh_${n}`);
for (const n of [4, 10, 16]) pair(`later claim n=${n}`, `claim_later_${n}`);
row(['first claim per extra trainer (4 -> 16, records exist)', per('claim_first', 'exec'), per('claim_first', 'tx')]);
row(['RoundVerifier deployment (n=10 key)', g.generic_verifier_deploy_exec_10, '']);
// Issue 14, settling a chunked round: K proofs of one key in one pairing-product check.
const perProof = Math.round((g.verify_batch_3_exec - g.verify_batch_1_exec) / 2);
const chunks40 = g.verify_batch_1_exec + 39 * perProof;
row(['verifyProof, one proof (generic, n=4 key, 11 inputs)', g.verify_single_exec, '']);
for (const k of [1, 2, 3]) row([`batched check of ${k} proof(s) of that key`, g[`verify_batch_${k}_exec`], '']);
row(['batched check, per extra proof', perProof, '']);
row(['batched check of 40 chunk proofs (projected)', chunks40, '']);
// Issue 14, the route taken: the final proof alone settles; a chunk is checked when challenged.
pair('finalizeRound, chunked 32x100,000 (K=40)', 'finalize_chunked_32');
pair('challengeChunk', 'challenge_chunk');
pair('answerChunk (depth-6 path + chunk proof, n=32)', 'answer_chunk_32');
pair('refuteRound (unanswered challenge)', 'refute_round');
row(['submitUpdate, first of the round', g.submit_first_exec, g.submit_first_tx]);
row(['submitUpdate, later', g.submit_exec, g.submit_tx]);
row(['recordEvidence, one source (existing record)', g.reliability_single_exec, g.reliability_single_tx]);
row(['recordEvidence, one source (new record)', g.reliability_single_fresh_exec, g.reliability_single_fresh_tx]);
const batch = {};
for (const k of [10, 100]) {
  const e = g[`reliability_batch_exec_${k}`] / k;
  const t = g[`reliability_batch_tx_${k}`] / k;
  batch[k] = Math.round(t);
  row([`recordEvidence batch of ${k}, per source`, e.toFixed(0), t.toFixed(0)]);
  row([`  ... as a share of a single call`, pct(e, g.reliability_single_exec), pct(t, g.reliability_single_tx)]);
  const ef = g[`reliability_batch_fresh_exec_${k}`] / k;
  const tf = g[`reliability_batch_fresh_tx_${k}`] / k;
  row([`recordEvidence batch of ${k}, new records, per source`, ef.toFixed(0), tf.toFixed(0)]);
  row([`  ... as a share of a single new-record call`, pct(ef, g.reliability_single_fresh_exec), pct(tf, g.reliability_single_fresh_tx)]);
}
const byN = (key) => ({ 4: g[`${key}_4_tx`], 10: g[`${key}_10_tx`], 16: g[`${key}_16_tx`] });
const byNExec = (key) => ({ 4: g[`${key}_4_exec`], 10: g[`${key}_10_exec`], 16: g[`${key}_16_exec`] });
console.log(JSON.stringify({
  finalize_round_gas: byN('finalize'),
  finalize_round_exec_gas: byNExec('finalize'),
  finalize_round_generic_verifier_gas: byN('finalize_generic'),
  first_claim_gas: byN('claim_first'),
  submit_update_gas: { first: g.submit_first_tx, later: g.submit_tx },
  reliability_single_gas: g.reliability_single_tx,
  reliability_batch_per_source_gas: batch,
  batched_verification_exec_gas: { 1: g.verify_batch_1_exec, 2: g.verify_batch_2_exec, 3: g.verify_batch_3_exec },
  batched_verification_per_proof_exec_gas: perProof,
  batched_verification_40_proofs_projected_exec_gas: chunks40,
  chunked_finalize_round_gas: { '32x100000': g.finalize_chunked_32_tx },
  chunk_challenge_gas: { challenge: g.challenge_chunk_tx, answer: g.answer_chunk_32_tx, refute: g.refute_round_tx },
}));
