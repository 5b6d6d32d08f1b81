// Recomputes prover/test-vectors/commitments.json with circomlibjs (the JavaScript reference of
// circomlib's Poseidon) and ethers (keccak256 and the ABI encoding, as the contract computes the
// domain): recomputes each update's domain and header, packs the values and runs the documented
// Poseidon chain.
// Usage: node commitments.js <commitments.json>; prints one line per vector and exits 1 on a mismatch.
const fs = require("fs");
const { buildPoseidon } = require("circomlibjs");
const { AbiCoder, keccak256, solidityPacked } = require("ethers");

const BITS = { update: 8n, model: 24n };
// Models keep two guard bits per value (26-bit slots); updates fill their 8-bit slots.
const SLOT_BITS = { update: 8n, model: 26n };
const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

// keccak256(abi.encode(chainId, market, jobId, keccak256(abi.encodePacked(roster)))) mod r.
function domainOf(d) {
  const rosterHash = keccak256(solidityPacked(["address[]"], [d.roster]));
  const encoded = AbiCoder.defaultAbiCoder().encode(
    ["uint256", "address", "uint256", "bytes32"], [d.chain_id, d.market, d.job_id, rosterHash]);
  return { rosterHash, value: (BigInt(keccak256(encoded)) % R).toString() };
}
const PER_BLOCK = 11;

function pack(values, bits, slot) {
  const per = Number(252n / slot);
  const offset = 1n << (bits - 1n);
  const out = [];
  for (let i = 0; i < values.length; i += per) {
    let acc = 0n;
    values.slice(i, i + per).forEach((v, t) => { acc |= (BigInt(v) + offset) << (slot * BigInt(t)); });
    out.push(acc);
  }
  return out;
}

buildPoseidon().then((poseidon) => {
  const F = poseidon.F;
  const vectors = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  let failures = 0;
  for (const v of vectors) {
    let headerOk = true;
    if (v.domain) {
      const d = domainOf(v.domain);
      headerOk = d.rosterHash === v.domain.roster_hash && d.value === v.domain.value && v.header[1] === d.value;
    }
    const packed = pack(v.values, BITS[v.kind], SLOT_BITS[v.kind]);
    let h = poseidon(v.header.map(BigInt));
    for (let i = 0; i < packed.length; i += PER_BLOCK) {
      const block = packed.slice(i, i + PER_BLOCK);
      while (block.length < PER_BLOCK) block.push(0n);
      h = poseidon([h, ...block]);
    }
    const got = F.toString(h);
    const ok = headerOk && got === v.commitment && packed.map(String).join() === v.packed.join();
    if (!ok) failures++;
    console.log(`${ok ? "ok" : "MISMATCH"} ${v.kind} header ${v.header.join(",")} (${v.values.length} values): ${got}`);
  }
  process.exit(failures ? 1 : 0);
});
