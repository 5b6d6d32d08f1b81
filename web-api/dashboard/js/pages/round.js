// The round page (round.html?job=ID&round=R): presence, outliers, scores and payouts per slot, the
// proof and its public inputs, and two checks of the proof: on-chain (the verifier contract, via
// the public RPC) and on the server (the API's audit).
import { api } from "../api.js";
import { el, facts, fill, table } from "../dom.js";
import { accuracy, amount, badge, hex, jobLink, slotList, slotsOf, time, trainerLink, yesNo } from "../format.js";
import { JOB_ID, ROUND, param, startPage } from "../layout.js";
import { verifyOnChain } from "../verify.js";

/**
 * What public input `i` of a round with `n` slots is (prover/src/round/public_inputs.rs): 28
 * 9-bit submission ranks per order word, 64 slots per flags word, 5 scores per score word.
 */
function inputRole(i, n) {
  const orderWords = Math.ceil(n / 28);
  const flagsWords = Math.ceil(n / 64);
  const flags = 4 + n + orderWords;
  if (i === 0) return "context";
  if (i === 1) return "domain";
  if (i === 2) return "C(S), the inliers' aggregate";
  if (i === 3) return "H, chunk digests (0: proven whole)";
  if (i < 4 + n) return `C_${i - 4}, update of slot ${i - 4}`;
  if (i < flags) return `submission order, word ${i - 4 - n} (slots ${28 * (i - 4 - n)}…)`;
  if (i < flags + flagsWords) {
    const k = i - flags;
    const slots = `slots ${64 * k}…${Math.min(64 * k + 63, n - 1)}`;
    return k === 0 ? `flags, word 0 (${slots}: unavailable | inlier << 64 | ‖S‖² << 128)` : `flags, word ${k} (${slots}: unavailable | inlier << 64)`;
  }
  return `scores, word ${i - flags - flagsWords}`;
}

function hexList(id, values, role) {
  fill(id, values.map((v, i) => el("li", {}, el("code", {}, v), el("span", { class: "what" }, role(i)))));
}

function summary(round, token) {
  const n = round.slots.length;
  return facts([
    ["job", jobLink(round.job_id)],
    ["status", badge(round.status)],
    ["accuracy", accuracy(round.accuracy)],
    ["outliers", el("span", { id: "outliers" }, slotList(round.outliers))],
    ["present slots", el("span", { id: "present" }, slotList(slotsOf(round.presence_bits, n)))],
    ["declared unavailable", el("span", { id: "unavailable" }, slotList(slotsOf(round.unavailable_bits, n)))],
    ["paid out", amount(round.slots.reduce((sum, s) => sum + BigInt(s.payout ?? 0), 0n).toString(), token)],
    ["aggregate C(S)", hex(round.new_model)],
    ["‖S‖²", round.aggregate_norm_sq ?? "—"],
    ["chunk digests H", round.digest ? hex(round.digest) : "— (proven whole)"],
    ["verifier", hex(round.verifier, 4)],
    ["finalized", ["block ", round.block ?? "—", " · ", time(round.finalized_at), " · tx ", hex(round.tx_hash)]],
  ]);
}

/** Wires a check button: runs `check`, shows "valid"/"invalid"/"error" and its detail. */
function wireCheck(prefix, check) {
  const button = document.getElementById(prefix);
  const result = document.getElementById(`${prefix}-result`);
  button.disabled = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    result.dataset.state = "pending";
    fill(result.id, "checking…");
    fill(`${prefix}-detail`);
    let outcome;
    try {
      outcome = await check();
    } catch (error) {
      outcome = { valid: null, detail: error.message };
    }
    const state = outcome.valid === true ? "valid" : outcome.valid === false ? "invalid" : "error";
    result.dataset.state = state;
    fill(result.id, state);
    fill(`${prefix}-detail`, outcome.detail);
    button.disabled = false;
  });
}

startPage(async () => {
  const jobId = param("job", JOB_ID, "a job number");
  const number = param("round", ROUND, "a round number");
  const [config, round, job] = await Promise.all([api.config(), api.round(jobId, number), api.job(jobId)]);
  document.title = `Job #${round.job_id} round ${round.round} · fedproof`;
  fill("title", `Job #${round.job_id} · round ${round.round}`);
  fill("summary", summary(round, job.token));

  const outliers = new Set(round.outliers.map(Number));
  fill(
    "slots",
    table(
      [
        ["slot", (s) => s.slot],
        ["trainer", (s) => trainerLink(s.trainer)],
        ["present", (s) => yesNo(s.present)],
        ["inlier", (s) => (s.present ? yesNo(s.inlier) : "—")],
        ["score", (s) => s.score],
        ["payout", (s) => amount(s.payout, job.token)],
        ["commitment", (s) => hex(s.commitment)],
      ],
      round.slots,
      (s) => ({ "data-slot": s.slot, class: outliers.has(Number(s.slot)) ? "outlier" : s.present ? null : "absent" }),
    ),
  );
  hexList("proof", round.proof, (i) => ["A.x", "A.y", "B.x.c1", "B.x.c0", "B.y.c1", "B.y.c0", "C.x", "C.y"][i]);
  hexList("inputs", round.public_inputs, (i) => inputRole(i, round.slots.length));

  wireCheck("verify", () => verifyOnChain(config, round));
  wireCheck("audit", async () => {
    const audit = await api.audit(round.job_id, round.round);
    const verdict = audit.verified_offchain ? "the server verified the proof with arkworks" : `the server rejected it: ${audit.reason ?? "no reason given"}`;
    return { valid: Boolean(audit.ok && audit.verified_offchain), detail: verdict };
  });
});
