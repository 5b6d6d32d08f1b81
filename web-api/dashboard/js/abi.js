// The contract ABI fragments the dashboard calls, copied from contracts/abi/RoundVerifierDemo.json
// and contracts/abi/JobMarket.json (the committed ABIs). Only what the pages use, in ethers'
// human-readable form; the errors are listed so ethers can name a revert.

/** The verifier's custom errors (every generated verifier has the same ones). */
const verifierErrors = [
  "error ProofCoordinateNotInField(uint256 index)",
  "error PublicInputNotInField(uint256 index)",
  "error PrecompileFailed(uint256 precompile)",
];

/** The generic RoundVerifier (contracts/abi/RoundVerifier.json), which jobs deploy per shape. */
export const genericVerifierAbi = [
  "function verifyProof(uint256[8] proof, uint256[] input) view returns (bool)",
  "error InputCountMismatch(uint256 given, uint256 expected)",
  ...verifierErrors,
];

/**
 * A generated verifier's verifyProof for a shape with `inputs` public inputs: those take a
 * fixed-size array (uint256[16] for the demo shape, uint256[9] for n = 4, ...), so the fragment
 * is built for the round at hand.
 */
export function generatedVerifierAbi(inputs) {
  return [`function verifyProof(uint256[8] proof, uint256[${inputs}] input) view returns (bool)`, ...verifierErrors];
}

/** JobMarket.createJob with its parameter struct, the JobCreated event and the errors createJob can raise. */
export const jobMarketAbi = [
  "function createJob((address token, uint128 budget, uint128 stake, uint128 bond, address aggregator, address verifier, bytes32 specHash, string specURI, uint256 initialModel, uint32 rounds, uint16 trainers, uint8 maxMalicious, uint32 tau, uint32 lr, uint32 lrDecay, uint32 dupTol, uint40 startTime, uint32 submitWindow, uint32 finalizeWindow, uint32 disputeWindow) p) payable returns (uint256 jobId)",
  "event JobCreated(uint256 indexed jobId, address indexed owner, address indexed aggregator, (address token, uint128 budget, uint128 stake, uint128 bond, address aggregator, address verifier, bytes32 specHash, string specURI, uint256 initialModel, uint32 rounds, uint16 trainers, uint8 maxMalicious, uint32 tau, uint32 lr, uint32 lrDecay, uint32 dupTol, uint40 startTime, uint32 submitWindow, uint32 finalizeWindow, uint32 disputeWindow) params, uint256 roundBudget)",
  "error ZeroBudget()",
  "error InvalidRounds()",
  "error BudgetTooSmall(uint256 budget, uint256 rounds)",
  "error InvalidSlots(uint256 trainers)",
  "error InvalidMaxMalicious(uint256 maxMalicious, uint256 trainers)",
  "error ZeroAddress()",
  "error VerifierNotApproved(address verifier)",
  "error StartInPast(uint256 startTime, uint256 now_)",
  "error InvalidWindow()",
  "error InvalidLearningRate()",
  "error InvalidCommitment(uint256 commitment)",
  "error ShapeMismatch(uint256 verifierInputs, uint256 expected)",
  "error WrongValue(uint256 sent, uint256 expected)",
  "error UnsupportedToken(uint256 received, uint256 expected)",
];
