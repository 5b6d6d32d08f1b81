// The jobs list (index.html): filters and pages come from the URL's query, so a view can be linked.
import { api } from "../api.js";
import { el, fill, pageLink, table } from "../dom.js";
import { amount, badge, hex, jobLink } from "../format.js";
import { startPage } from "../layout.js";
import { mountCreateJob } from "../create-job.js";

const PER_PAGE = 20;

function filtersFromUrl() {
  const query = new URLSearchParams(window.location.search);
  const page = Number.parseInt(query.get("page") || "1", 10);
  return {
    status: query.get("status") || "",
    owner: query.get("owner") || "",
    page: Number.isSafeInteger(page) && page > 0 ? page : 1,
    per_page: PER_PAGE,
  };
}

function showFilters(filters) {
  const form = document.getElementById("filters");
  form.elements.status.value = filters.status;
  form.elements.owner.value = filters.owner;
}

function pager(filters, total) {
  const pages = Math.max(1, Math.ceil(total / filters.per_page));
  const link = (page, text) => pageLink("/", { status: filters.status, owner: filters.owner, page }, text);
  return [
    filters.page > 1 ? link(filters.page - 1, "← previous") : null,
    el("span", { class: "muted" }, `page ${filters.page} of ${pages} · ${total} jobs`),
    filters.page < pages ? link(filters.page + 1, "next →") : null,
  ];
}

const columns = [
  ["job", (j) => jobLink(j.id)],
  ["status", (j) => badge(j.status)],
  ["owner", (j) => hex(j.owner, 4)],
  ["budget", (j) => amount(j.budget, j.token)],
  ["round", (j) => `${j.current_round} / ${j.rounds}`],
  ["trainers", (j) => j.trainers],
  ["verifier", (j) => hex(j.verifier, 4)],
  ["created", (j) => `block ${j.created_block}`],
];

startPage(async () => {
  const filters = filtersFromUrl();
  showFilters(filters);
  const [config, jobs] = await Promise.all([api.config(), api.jobs(filters)]);
  fill(
    "jobs",
    jobs.items.length ? table(columns, jobs.items, (j) => ({ "data-job-id": j.id })) : el("p", { class: "muted" }, "No jobs match."),
  );
  fill("pager", pager(filters, jobs.total));
  if (window.ethereum) mountCreateJob(config, jobs.items[0]);
});
