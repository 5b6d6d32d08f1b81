// How values from the API read on the page: amounts, addresses, hashes, bit sets, times.
import { formatEther } from "/vendor/ethers.min.js";
import { el, pageLink } from "./dom.js";

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/** Whether `token` is the native coin (the contracts use the zero address for ETH). */
export function isEth(token) {
  return !token || token.toLowerCase() === ZERO_ADDRESS;
}

/** A wei amount (decimal string) in ether as a number, for charts. */
export function weiToEther(wei) {
  return Number(formatEther(BigInt(wei)));
}

/** A wei amount as text: "1.5 ETH" for ETH, base units for an ERC-20 (its decimals are not known here). */
export function amount(wei, token) {
  if (wei === null || wei === undefined) return "—";
  return isEth(token) ? `${formatEther(BigInt(wei))} ETH` : `${BigInt(wei).toString()} units`;
}

/** A long hex value shortened for tables, with the full value in the tooltip and a copy-friendly code element. */
export function hex(value, keep = 6) {
  if (!value) return "—";
  const text = String(value);
  const short = text.length > 2 * keep + 4 ? `${text.slice(0, keep + 2)}…${text.slice(-keep)}` : text;
  return el("code", { title: text }, short);
}

/** An address linking to its trainer page. */
export function trainerLink(address) {
  if (!address) return "—";
  return pageLink("/trainer.html", { address }, hex(address, 4));
}

/** A job id linking to its job page. */
export function jobLink(id) {
  return pageLink("/jobs.html", { id }, `#${id}`);
}

/** A round linking to its round page. */
export function roundLink(jobId, round) {
  return pageLink("/round.html", { job: jobId, round }, `round ${round}`);
}

/** Jobs have at most this many slots (JobMarket's MAX_SLOTS); a slot bitmap is a uint256. */
export const MAX_SLOTS = 256;

/**
 * The slots (below `n`) set in a slot bitmap: bit i for slot i, as the API gives it (0x + 64 hex
 * digits, since a JSON number cannot hold 256 bits). BigInt reads the 0x hex exactly (a Number
 * would lose every bit above 2^53); a decimal string, a number or a bigint are read too.
 */
export function slotsOf(bits, n = MAX_SLOTS) {
  const text = String(bits ?? 0);
  if (!/^(0x[0-9a-fA-F]{1,64}|[0-9]+)$/.test(text)) throw new Error(`${JSON.stringify(text)} is not a slot bitmap`);
  const value = BigInt(text);
  const slots = [];
  for (let i = 0; i < Math.min(n, MAX_SLOTS); i += 1) if ((value >> BigInt(i)) & 1n) slots.push(i);
  return slots;
}

/** A list of slots as text ("none" when empty). */
export function slotList(slots) {
  return slots.length ? slots.join(", ") : "none";
}

/** An accuracy in [0, 1] as a percentage, or a dash when the owner has not published it. */
export function accuracy(value) {
  return value === null || value === undefined ? "—" : `${(Number(value) * 100).toFixed(2)} %`;
}

/** A reliability score in [0, 1] with four decimals. */
export function score(value) {
  return value === null || value === undefined ? "—" : Number(value).toFixed(4);
}

/** A unix time (seconds) as an ISO date-time in UTC. */
export function time(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  return new Date(Number(seconds) * 1000).toISOString().replace(".000Z", "Z");
}

/** A status word as a colored badge. */
export function badge(status) {
  return el("span", { class: `badge badge-${String(status).replace(/[^a-z_]/gi, "")}` }, status);
}

/** "yes"/"no" for a boolean cell. */
export function yesNo(value) {
  return value ? "yes" : "no";
}
