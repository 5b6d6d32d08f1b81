// "Verify on-chain": asks the round's verifier contract, through the configured public RPC, whether
// the round's proof verifies for its public inputs (an eth_call of verifyProof; no wallet needed).
import { Contract, JsonRpcProvider } from "/vendor/ethers.min.js";
import { generatedVerifierAbi, genericVerifierAbi } from "./abi.js";

/**
 * The outcome of one eth_call: `valid` is true/false when the verifier answered, null when the
 * call could not be made; `detail` says what the call returned (or why it reverted or failed).
 */
export async function verifyOnChain(config, round) {
  const provider = new JsonRpcProvider(config.rpc_url, Number(config.chain_id), { staticNetwork: true });
  try {
    const result = await callVerifyProof(provider, round);
    return { valid: result === true, detail: `verifyProof(...) at ${round.verifier} returned ${result}` };
  } catch (error) {
    if (error.code === "CALL_EXCEPTION") {
      // A verifier reverts on malformed input (a coordinate or input outside the field): the
      // proof does not verify, and the revert names what is wrong.
      const reason = error.revert ? `${error.revert.name}(${error.revert.args.join(", ")})` : error.shortMessage;
      return { valid: false, detail: `verifyProof reverted: ${reason}` };
    }
    return { valid: null, detail: `eth_call to ${config.rpc_url} failed: ${error.shortMessage || error.message}` };
  } finally {
    provider.destroy();
  }
}

/**
 * Calls the generic RoundVerifier's verifyProof(uint256[8], uint256[]); a verifier generated for
 * one shape has no such function (the call reverts with no data), so it is then asked with its
 * fixed-size verifyProof(uint256[8], uint256[N]).
 */
async function callVerifyProof(provider, round) {
  const generic = new Contract(round.verifier, genericVerifierAbi, provider);
  try {
    return await generic.verifyProof(round.proof, round.public_inputs);
  } catch (error) {
    if (error.code !== "CALL_EXCEPTION" || (error.data && error.data !== "0x")) throw error;
  }
  const generated = new Contract(round.verifier, generatedVerifierAbi(round.public_inputs.length), provider);
  return generated.verifyProof(round.proof, round.public_inputs);
}
