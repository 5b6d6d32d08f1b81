// The job page (jobs.html?id=ID): terms, accuracy per round and rewards per trainer as charts,
// the rounds and the trainers.
import { api } from "../api.js";
import { accuracyChart, rewardsChart } from "../charts.js";
import { el, facts, fill, table } from "../dom.js";
import { accuracy, amount, badge, hex, roundLink, score, trainerLink, weiToEther } from "../format.js";
import { JOB_ID, param, startPage } from "../layout.js";

// In a job's detail `trainers` is the list of joined trainers (in a JobSummary it is the slot count).
function trainersOf(job) {
  return Array.isArray(job.trainers) ? job.trainers : [];
}

// The model spec is {uri, hash}: where the owner published it and the hash the job commits to.
function modelSpec(spec) {
  if (!spec) return "—";
  return [spec.uri || "—", " · hash ", hex(spec.hash)];
}

function summary(job) {
  return facts([
    ["status", badge(job.status)],
    ["owner", hex(job.owner, 4)],
    ["aggregator", hex(job.aggregator, 4)],
    ["budget", amount(job.budget, job.token)],
    ["stake / bond", `${amount(job.stake, job.token)} / ${amount(job.bond, job.token)}`],
    ["rounds", `${job.current_round} of ${job.rounds}`],
    ["trainers", `${trainersOf(job).length} of ${job.slots ?? "?"} slots joined`],
    ["verifier", hex(job.verifier, 4)],
    ["model spec", modelSpec(job.model_spec)],
    ["created", ["block ", job.created_block, " · tx ", hex(job.created_tx)]],
  ]);
}

startPage(async () => {
  const id = param("id", JOB_ID, "a job number");
  const job = await api.job(id);
  document.title = `Job #${job.id} · fedproof`;
  fill("title", `Job #${job.id}`);
  fill("summary", summary(job));

  const rounds = job.rounds_detail;
  const trainers = trainersOf(job);
  accuracyChart(document.getElementById("accuracy-chart"), rounds);
  rewardsChart(document.getElementById("rewards-chart"), trainers, weiToEther);

  fill(
    "rounds",
    rounds.length
      ? table(
          [
            ["round", (r) => roundLink(job.id, r.round)],
            ["status", (r) => badge(r.status)],
            ["accuracy", (r) => accuracy(r.accuracy)],
            ["inliers", (r) => r.inliers],
            ["outliers", (r) => r.outliers],
            ["total score", (r) => r.total_score],
            ["allocated", (r) => amount(r.allocated, job.token)],
            ["tx", (r) => hex(r.tx_hash)],
          ],
          rounds,
          (r) => ({ "data-round": r.round }),
        )
      : el("p", { class: "muted" }, "No round settled yet."),
  );
  fill(
    "trainers",
    table(
      [
        ["slot", (t) => t.slot],
        ["trainer", (t) => trainerLink(t.address)],
        ["earned", (t) => amount(t.earned, job.token)],
        ["reliability", (t) => score(t.reliability)],
      ],
      trainers,
      (t) => ({ "data-slot": t.slot }),
    ),
  );
});
