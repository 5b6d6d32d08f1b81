// Recomputes prover/test-vectors/commitments.json with circomlibjs (the JavaScript reference of
// circomlib's Poseidon): packs the values and runs the documented Poseidon chain.
// Usage: node commitments.js <commitments.json>; prints one line per vector and exits 1 on a mismatch.
const fs = require("fs");
const { buildPoseidon } = require("circomlibjs");

const BITS = { update: 8n, model: 24n };
const PER_BLOCK = 11;

function pack(values, bits) {
  const per = Number(252n / bits);
  const offset = 1n << (bits - 1n);
  const out = [];
  for (let i = 0; i < values.length; i += per) {
    let acc = 0n;
    values.slice(i, i + per).forEach((v, t) => { acc |= (BigInt(v) + offset) << (bits * BigInt(t)); });
    out.push(acc);
  }
  return out;
}

buildPoseidon().then((poseidon) => {
  const F = poseidon.F;
  const vectors = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  let failures = 0;
  for (const v of vectors) {
    const packed = pack(v.values, BITS[v.kind]);
    let h = poseidon([BigInt(v.tag), BigInt(v.job_id), BigInt(v.round)]);
    for (let i = 0; i < packed.length; i += PER_BLOCK) {
      const block = packed.slice(i, i + PER_BLOCK);
      while (block.length < PER_BLOCK) block.push(0n);
      h = poseidon([h, ...block]);
    }
    const got = F.toString(h);
    const ok = got === v.commitment && packed.map(String).join() === v.packed.join();
    if (!ok) failures++;
    console.log(`${ok ? "ok" : "MISMATCH"} ${v.kind} job ${v.job_id} round ${v.round} (${v.values.length} values): ${got}`);
  }
  process.exit(failures ? 1 : 0);
});
