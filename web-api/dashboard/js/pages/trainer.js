// The trainer page (trainer.html?address=0x…): earnings per job and reliability over time.
import { api } from "../api.js";
import { reliabilityChart } from "../charts.js";
import { el, facts, fill, table } from "../dom.js";
import { amount, hex, jobLink, roundLink, score } from "../format.js";
import { ADDRESS, param, startPage } from "../layout.js";

startPage(async () => {
  const address = param("address", ADDRESS, "an address (0x and 40 hex digits)");
  const trainer = await api.trainer(address);
  const { reliability } = trainer;
  document.title = `Trainer ${trainer.address} · fedproof`;
  fill("title", "Trainer ", el("code", {}, trainer.address));
  fill(
    "summary",
    facts([
      ["earned in total", amount(trainer.earned_total, null)],
      ["reliability", el("span", { id: "reliability-score" }, score(reliability.score))],
      ["observations", reliability.observations],
      ["jobs", trainer.jobs.length],
    ]),
  );
  reliabilityChart(document.getElementById("reliability-chart"), reliability.history);
  fill(
    "jobs",
    trainer.jobs.length
      ? table(
          [
            ["job", (j) => jobLink(j.job_id)],
            ["slot", (j) => j.slot],
            ["earned", (j) => amount(j.earned, null)],
          ],
          trainer.jobs,
          (j) => ({ "data-job-id": j.job_id }),
        )
      : el("p", { class: "muted" }, "Not in any job yet."),
  );
  fill(
    "history",
    reliability.history.length
      ? table(
          [
            ["block", (h) => h.block],
            // A history point may come from a writer other than a job's settlement (no job/round).
            ["job", (h) => (h.job_id === null || h.job_id === undefined ? "—" : jobLink(h.job_id))],
            ["round", (h) => (h.job_id === null || h.job_id === undefined ? "—" : roundLink(h.job_id, h.round))],
            ["observation", (h) => score(h.observation)],
            ["score after", (h) => score(h.score)],
          ],
          [...reliability.history].reverse(),
        )
      : el("p", { class: "muted" }, "No observation yet."),
  );
});
