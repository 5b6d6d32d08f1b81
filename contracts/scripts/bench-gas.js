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
const need = ['finalize_tx_4', 'finalize_tx_10', 'finalize_tx_16', 'finalize_generic_tx_10',
  'generic_verifier_deploy_exec_10', 'reliability_single_tx',
  'reliability_batch_tx_10', 'reliability_batch_tx_100'];
for (const k of need) {
  if (!(k in g)) {
    process.stderr.write(`bench-gas: missing ${k} in the forge output\n`);
    process.exit(1);
  }
}
const pct = (a, b) => `${((100 * a) / b).toFixed(1)} %`;
const row = (cells) => console.log(cells.map((c, i) => String(c).padEnd(i === 0 ? 52 : 12)).join(''));
console.log('Gas (exec = the call, cold storage; tx = exec + 21000 + calldata - 2600 warm `to`)');
row(['', 'exec', 'tx']);
for (const n of [4, 10, 16]) {
  row([`finalizeRound n=${n} (trainers have records)`, g[`finalize_exec_${n}`], g[`finalize_tx_${n}`]]);
}
for (const n of [4, 10, 16]) {
  row([`finalizeRound n=${n} (records), generic RoundVerifier`, g[`finalize_generic_exec_${n}`], g[`finalize_generic_tx_${n}`]]);
}
for (const n of [4, 10, 16]) {
  row([`finalizeRound n=${n} (first records)`, g[`finalize_fresh_exec_${n}`], g[`finalize_fresh_tx_${n}`]]);
}
const per = (a, b) => ((g[`finalize_${a}_16`] - g[`finalize_${a}_4`]) / 12).toFixed(0);
row(['finalizeRound per extra trainer (4 -> 16)', per('exec'), per('tx')]);
row(['RoundVerifier deployment (n=10 key)', g.generic_verifier_deploy_exec_10, '']);
row(['submitUpdate, first of the round', g.submit_first_exec, g.submit_first_tx]);
row(['submitUpdate, later', g.submit_exec, g.submit_tx]);
row(['reliability update (existing record)', g.reliability_single_exec, g.reliability_single_tx]);
row(['reliability update (new record)', g.reliability_single_fresh_exec, g.reliability_single_fresh_tx]);
const batch = {};
for (const k of [10, 100]) {
  const e = g[`reliability_batch_exec_${k}`] / k;
  const t = g[`reliability_batch_tx_${k}`] / k;
  batch[k] = Math.round(t);
  row([`reliability batch of ${k}, per source`, e.toFixed(0), t.toFixed(0)]);
  row([`  ... as a share of a single update`, pct(e, g.reliability_single_exec), pct(t, g.reliability_single_tx)]);
  const ef = g[`reliability_batch_fresh_exec_${k}`] / k;
  const tf = g[`reliability_batch_fresh_tx_${k}`] / k;
  row([`reliability batch of ${k}, new records, per source`, ef.toFixed(0), tf.toFixed(0)]);
  row([`  ... as a share of a single new-record update`, pct(ef, g.reliability_single_fresh_exec), pct(tf, g.reliability_single_fresh_tx)]);
}
console.log(JSON.stringify({
  finalize_round_gas: { 4: g.finalize_tx_4, 10: g.finalize_tx_10, 16: g.finalize_tx_16 },
  finalize_round_generic_verifier_gas: {
    4: g.finalize_generic_tx_4, 10: g.finalize_generic_tx_10, 16: g.finalize_generic_tx_16,
  },
  reliability_single_gas: g.reliability_single_tx,
  reliability_batch_per_source_gas: batch,
}));
