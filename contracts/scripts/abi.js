#!/usr/bin/env node
// Writes (or with --check, compares) abi/<Contract>.json = { abi, bytecode, deployedBytecode } for
// the contracts Rust needs, from forge's build output in out/. Run `forge build` first.
'use strict';
const fs = require('fs');
const path = require('path');
const CONTRACTS = [
  ['JobMarket.sol', 'JobMarket'],
  ['ReliabilityRegistry.sol', 'ReliabilityRegistry'],
  ['IRoundVerifier.sol', 'IRoundVerifier'],
  ['RoundVerifierDemo.sol', 'RoundVerifierDemo'],
  ['RoundVerifier.sol', 'RoundVerifier'],
  ['ChunkedRoundVerifier.sol', 'ChunkedRoundVerifier'],
  ['PoseidonT3.sol', 'PoseidonT3'],
];
// Libraries deployed from their npm package's own bytecode, not from our build: compiled with our
// settings (via_ir) PoseidonT3 is 29 KB, over EIP-170's 24,576 bytes, while the package ships the
// 23.5 KB bytecode it deploys at one address on every chain. The ABI is our build's.
const PACKAGED = {
  PoseidonT3: (art) => ({
    contractName: 'PoseidonT3',
    abi: art.abi,
    bytecode: require('poseidon-solidity').PoseidonT3.bytecode,
  }),
};
const root = path.join(__dirname, '..');
const check = process.argv.includes('--check');
let stale = [];
for (const [file, name] of CONTRACTS) {
  const art = JSON.parse(fs.readFileSync(path.join(root, 'out', file, `${name}.json`), 'utf8'));
  const text = JSON.stringify(PACKAGED[name] ? PACKAGED[name](art) : {
    contractName: name,
    abi: art.abi,
    bytecode: art.bytecode.object,
    deployedBytecode: art.deployedBytecode.object,
  }, null, 2) + '\n';
  const dest = path.join(root, 'abi', `${name}.json`);
  if (check) {
    const old = fs.existsSync(dest) ? fs.readFileSync(dest, 'utf8') : '';
    if (old !== text) stale.push(path.relative(root, dest));
  } else {
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, text);
    console.log(`wrote ${path.relative(root, dest)}`);
  }
}
if (stale.length) {
  console.error(`stale ABI/bytecode: ${stale.join(', ')}; run \`make contracts-abi\` and commit`);
  process.exit(1);
}
if (check) console.log('contracts/abi is up to date');
