// The "Create job" form: shown only when a browser wallet (EIP-1193, window.ethereum) is present;
// sends JobMarket.createJob from the wallet's account through ethers' BrowserProvider.
import { BrowserProvider, Contract, ZeroAddress, id as keccakText, isAddress, isHexString, parseEther } from "/vendor/ethers.min.js";
import { jobMarketAbi } from "./abi.js";
import { el, fill } from "./dom.js";
import { jobLink } from "./format.js";

// [field, label, default, kind]; kinds say how the text is checked and converted.
const FIELDS = [
  ["verifier", "Verifier (approved by the governor)", "", "address"],
  ["aggregator", "Aggregator", "", "address"],
  ["token", "Token (0x0…0 = ETH)", ZeroAddress, "address"],
  ["budget", "Budget (ETH or token units ×10¹⁸)", "1", "ether"],
  ["stake", "Trainer stake", "0.1", "ether"],
  ["bond", "Aggregator bond", "0.5", "ether"],
  ["rounds", "Rounds", "3", "uint"],
  ["trainers", "Trainers, 1–256 (must match the verifier's shape)", "", "uint"],
  ["maxMalicious", "Max malicious (f)", "1", "uint"],
  ["tau", "Alignment threshold τ (fixed point)", String(3 << 15), "uint"],
  ["lr", "Learning rate", "64", "uint"],
  ["lrDecay", "Learning-rate decay per round", "0", "uint"],
  ["dupTol", "Duplicate tolerance", "8", "uint"],
  ["initialModel", "Initial model commitment", "", "uint"],
  ["specURI", "Model spec URI", "ipfs://spec", "text"],
  ["specHash", "Model spec hash (empty: keccak256 of the URI)", "", "bytes32?"],
  ["startDelay", "Start in (seconds)", "300", "uint"],
  ["submitWindow", "Submit window (s)", "3600", "uint"],
  ["finalizeWindow", "Finalize window (s)", "3600", "uint"],
  ["disputeWindow", "Dispute window (s)", "3600", "uint"],
];

/** Checks and converts one field's text; throws a message naming the field. */
function convert(label, kind, text) {
  const value = text.trim();
  const fail = (what) => {
    throw new Error(`${label}: ${JSON.stringify(value)} is not ${what}`);
  };
  switch (kind) {
    case "address":
      return isAddress(value) ? value : fail("an address (0x and 40 hex digits)");
    case "ether":
      try {
        return parseEther(value);
      } catch {
        return fail("a decimal amount");
      }
    case "uint":
      return /^[0-9]+$/.test(value) ? BigInt(value) : fail("a whole number");
    case "bytes32?":
      if (value === "") return null;
      return isHexString(value, 32) ? value : fail("a 32-byte hex value (0x and 64 hex digits)");
    default:
      return value;
  }
}

/** The form's values, converted; the first bad field throws. */
function readForm(form) {
  const values = {};
  for (const [name, label, , kind] of FIELDS) values[name] = convert(label, kind, form.elements[name].value);
  return values;
}

/** Sends createJob and reports the new job's id (from its JobCreated log). */
async function submit(config, form, out) {
  const values = readForm(form);
  const provider = new BrowserProvider(window.ethereum);
  const signer = await provider.getSigner();
  const latest = await provider.getBlock("latest");
  const { startDelay, ...p } = values;
  const params = {
    ...p,
    specHash: p.specHash ?? keccakText(p.specURI),
    startTime: BigInt(latest.timestamp) + startDelay,
  };
  const market = new Contract(config.market, jobMarketAbi, signer);
  const value = params.token.toLowerCase() === ZeroAddress ? params.budget : 0n;
  fill(out.id, "waiting for the wallet…");
  const tx = await market.createJob(params, { value });
  fill(out.id, `sent ${tx.hash}, waiting for it to be mined…`);
  const receipt = await tx.wait();
  const created = receipt.logs.map((log) => market.interface.parseLog(log)).find((log) => log && log.name === "JobCreated");
  out.dataset.state = "created";
  out.dataset.jobId = created.args.jobId.toString();
  fill(out.id, "created job ", jobLink(created.args.jobId.toString()), ` in block ${receipt.blockNumber}`);
}

function reason(error) {
  if (error.revert) return `reverted: ${error.revert.name}(${error.revert.args.join(", ")})`;
  return error.shortMessage || error.message;
}

/** Shows the form, pre-filled from `template` (the newest job: its verifier and aggregator). */
export function mountCreateJob(config, template) {
  const inputs = FIELDS.map(([name, label, initial]) => {
    let value = initial;
    if (template && name === "verifier") value = template.verifier;
    if (template && name === "aggregator") value = template.aggregator;
    if (template && name === "trainers") value = String(template.trainers);
    return el("label", {}, label, el("input", { name, value }));
  });
  const out = el("div", { id: "create-result", class: "detail", "data-state": "idle" });
  const button = el("button", { type: "submit" }, "Create job");
  const form = el("form", { class: "create", id: "create-job" }, inputs, el("div", {}, button));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      await submit(config, form, out);
    } catch (error) {
      out.dataset.state = "error";
      fill(out.id, reason(error));
    } finally {
      button.disabled = false;
    }
  });
  fill("create-form", form, out);
  document.getElementById("create").hidden = false;
}
