// Browser test of the dashboard: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) against a running fedproof server whose chain has at least one settled round.
//
//   FEDPROOF_URL=http://127.0.0.1:PORT node web-api/dashboard/test/browser.mjs
//
// Opens the jobs list, a job page (its charts must plot exactly the API's numbers), a round page
// ("Verify on-chain" must say "valid"; with one public input altered in the page it must say
// "invalid"), a trainer page, and creates a job through the page's form with a browser wallet
// (an EIP-1193 provider that hands requests to the chain's RPC, whose accounts it unlocks).
// Saves a screenshot of every page into target/screenshots/. Exits 1 on the first failed check.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const base = (process.env.FEDPROOF_URL || "").replace(/\/$/, "");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const shots = resolve(process.env.SCREENSHOT_DIR || join(here, "../../../target/screenshots"));

const passed = [];

/** Runs one named check; its failure ends the test. */
async function step(name, run) {
  await run();
  passed.push(name);
  console.log(`ok - ${name}`);
}

/** GETs the API's JSON (what the page must show). */
async function apiGet(path) {
  const response = await fetch(`${base}${path}`);
  const text = await response.text();
  assert.equal(response.status, 200, `GET ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

/** Opens a dashboard page and waits until it has rendered its data (or shown an error). */
async function open(page, path) {
  const errors = [];
  page.removeAllListeners("pageerror");
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  page.removeAllListeners("console");
  page.on("console", (message) => message.type() === "error" && errors.push(`console error: ${message.text()} (${message.location().url})`));
  const response = await page.goto(`${base}${path}`);
  assert.equal(response.status(), 200, `${path} answered ${response.status()}`);
  await page.waitForFunction(() => document.body.dataset.ready === "true" || document.querySelector("#status.error"));
  const failure = await page.locator("#status.error").count();
  assert.equal(failure, 0, `${path} shows an error: ${failure && (await page.locator("#status").innerText())}`);
  return errors;
}

/** Opens a page that must refuse its input; returns the message its status box shows. */
async function openFailing(page, path) {
  await page.goto(`${base}${path}`);
  await page.waitForFunction(() => document.body.dataset.ready === "true" || document.querySelector("#status.error"));
  assert.equal(await page.locator("#status.error").count(), 1, `${path} rendered although its input is bad`);
  return page.locator("#status").innerText();
}

/** What a chart plots: its labels, its first dataset, and the labels drawn on its x axis. */
function chartData(page, id) {
  return page.evaluate((canvasId) => {
    const chart = window.Chart.getChart(canvasId);
    if (!chart) return null;
    const x = chart.scales.x;
    return {
      labels: chart.data.labels,
      data: chart.data.datasets[0].data,
      weis: chart.data.datasets[0].weis ?? null,
      drawnLabels: x.ticks.map((tick) => x.getLabelForValue(tick.value)),
    };
  }, id);
}

/** The slots set in an API slot bitmap (0x + 64 hex digits), read in Node. */
function slotsIn(bits) {
  assert.match(bits, /^0x[0-9a-f]{64}$/, `the API's bitmap ${bits} is not 0x + 64 hex digits`);
  const value = BigInt(bits);
  return [...Array(256).keys()].filter((i) => (value >> BigInt(i)) & 1n);
}

/** An EIP-1193 wallet for the page: forwards JSON-RPC to the chain (whose node signs for its unlocked accounts). */
function walletScript(rpcUrl) {
  let id = 0;
  window.ethereum = {
    isTestWallet: true,
    async request({ method, params }) {
      const call = method === "eth_requestAccounts" ? "eth_accounts" : method;
      const response = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: (id += 1), method: call, params: params ?? [] }),
      });
      const body = await response.json();
      if (body.error) throw Object.assign(new Error(body.error.message), body.error);
      return body.result;
    },
    on() {},
    removeListener() {},
  };
}

async function run(browser) {
  const config = await apiGet("/api/config");
  const jobs = await apiGet("/api/jobs?page=1&per_page=20");
  assert.ok(jobs.items.length > 0, "the API lists no job: the server needs a chain with a settled job");

  // The newest job with a finalized round, and that round.
  let job = null;
  for (const item of jobs.items) {
    const detail = await apiGet(`/api/jobs/${item.id}`);
    if (detail.rounds_detail.some((r) => r.status === "finalized")) {
      job = detail;
      break;
    }
  }
  assert.ok(job, "no listed job has a finalized round");
  const settled = job.rounds_detail.find((r) => r.status === "finalized");
  const round = await apiGet(`/api/jobs/${job.id}/rounds/${settled.round}`);

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(walletScript, config.rpc_url);
  const page = await context.newPage();
  const screenshot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

  await step("jobs list shows the API's jobs", async () => {
    const errors = await open(page, "/");
    const ids = await page.locator("tr[data-job-id]").evaluateAll((rows) => rows.map((r) => r.dataset.jobId));
    assert.deepEqual(ids, jobs.items.map((j) => String(j.id)));
    assert.deepEqual(errors, []);
    await screenshot("jobs");
  });

  await step(`job ${job.id}: accuracy chart plots the API's accuracy per round`, async () => {
    const errors = await open(page, `/jobs.html?id=${encodeURIComponent(job.id)}`);
    const chart = await chartData(page, "accuracy-chart");
    assert.ok(chart, "no accuracy chart");
    const expected = job.rounds_detail.map((r) => (r.accuracy === null || r.accuracy === undefined ? null : Number(r.accuracy)));
    assert.ok(expected.some((a) => a !== null), `the API has no accuracy for job ${job.id} (the owner publishes it with POST .../metrics)`);
    assert.deepEqual(chart.labels, job.rounds_detail.map((r) => `round ${r.round}`));
    assert.deepEqual(chart.data, expected);
    assert.ok(chart.drawnLabels.length > 0 && chart.drawnLabels.every((l) => chart.labels.includes(l)), `x axis draws ${chart.drawnLabels}`);
    assert.equal(await page.locator("tr[data-round]").count(), job.rounds_detail.length, "one table row per round");
    assert.deepEqual(errors, []);
  });

  await step(`job ${job.id}: rewards chart plots each trainer's earnings`, async () => {
    const chart = await chartData(page, "rewards-chart");
    assert.ok(chart, "no rewards chart");
    assert.deepEqual(chart.labels, job.trainers.map((t) => `slot ${t.slot}`));
    assert.deepEqual(chart.weis, job.trainers.map((t) => String(t.earned)));
    job.trainers.forEach((t, i) => {
      const ether = Number(BigInt(t.earned)) / 1e18;
      assert.ok(Math.abs(chart.data[i] - ether) <= 1e-9 * Math.max(1, ether), `slot ${t.slot}: plotted ${chart.data[i]}, earned ${ether} ETH`);
    });
    assert.ok(job.trainers.some((t) => BigInt(t.earned) > 0n), `no trainer of job ${job.id} has earned anything`);
    assert.equal(await page.locator("tr[data-slot]").count(), job.trainers.length, "one table row per trainer");
    await screenshot("job");
  });

  const roundPath = `/round.html?job=${encodeURIComponent(job.id)}&round=${settled.round}`;
  await step(`round ${settled.round}: slots, outliers and proof as the API has them`, async () => {
    const errors = await open(page, roundPath);
    assert.equal(await page.locator("tr[data-slot]").count(), round.slots.length, "one row per slot");
    const outlierRows = await page.locator("tr.outlier").evaluateAll((rows) => rows.map((r) => Number(r.dataset.slot)));
    assert.deepEqual(outlierRows, round.outliers.map(Number));
    assert.equal(await page.locator("#outliers").innerText(), round.outliers.length ? round.outliers.join(", ") : "none");
    assert.deepEqual(await page.locator("#proof li code").allInnerTexts(), round.proof);
    assert.deepEqual(await page.locator("#inputs li code").allInnerTexts(), round.public_inputs);
    const list = (slots) => (slots.length ? slots.join(", ") : "none");
    assert.equal(await page.locator("#present").innerText(), list(slotsIn(round.presence_bits)));
    assert.equal(await page.locator("#unavailable").innerText(), list(slotsIn(round.unavailable_bits)));
    assert.deepEqual(errors, []);
  });

  await step("slot bitmaps of 256-slot jobs read exactly (slot 200, slot 255)", async () => {
    const read = await page.evaluate(async () => {
      const { slotsOf } = await import("/js/format.js");
      const bit = (i) => 1n << BigInt(i);
      const hex = `0x${(bit(0) | bit(63) | bit(64) | bit(200) | bit(255)).toString(16).padStart(64, "0")}`;
      let refused = null;
      try {
        slotsOf("0xnot-hex", 256);
      } catch (error) {
        refused = error.message;
      }
      return { all: slotsOf(hex, 256), first: slotsOf(hex, 201), legacy: slotsOf("5"), refused };
    });
    assert.deepEqual(read.all, [0, 63, 64, 200, 255]);
    assert.deepEqual(read.first, [0, 63, 64, 200], "only the job's n slots");
    assert.deepEqual(read.legacy, [0, 2], "a decimal bit set still reads");
    assert.match(read.refused ?? "", /is not a slot bitmap/);
  });

  /** Clicks a check button and returns its verdict once it has one. */
  async function verdict(prefix) {
    await page.click(`#${prefix}`);
    await page.waitForFunction((id) => ["valid", "invalid", "error"].includes(document.getElementById(id).dataset.state), `${prefix}-result`);
    return {
      state: await page.getAttribute(`#${prefix}-result`, "data-state"),
      text: await page.innerText(`#${prefix}-result`),
      detail: await page.innerText(`#${prefix}-detail`),
    };
  }

  await step(`round ${settled.round}: "Verify on-chain" says valid`, async () => {
    const result = await verdict("verify");
    assert.equal(result.text, "valid", `on-chain verification: ${result.text} (${result.detail})`);
    assert.match(result.detail, /returned true/);
    await screenshot("round");
  });

  await step(`round ${settled.round}: the server's audit says valid`, async () => {
    const result = await verdict("audit");
    assert.equal(result.text, "valid", `audit: ${result.text} (${result.detail})`);
  });

  await step(`round ${settled.round}: an altered public input makes "Verify on-chain" say invalid`, async () => {
    const tampered = await context.newPage();
    await tampered.route(`${base}/api/jobs/${job.id}/rounds/${settled.round}`, async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      const last = BigInt(body.public_inputs[1]);
      body.public_inputs[1] = `0x${(last + 1n).toString(16).padStart(64, "0")}`;
      await route.fulfill({ response, json: body });
    });
    const errors = await open(tampered, roundPath);
    await tampered.click("#verify");
    await tampered.waitForFunction(() => ["valid", "invalid", "error"].includes(document.getElementById("verify-result").dataset.state));
    const text = await tampered.innerText("#verify-result");
    assert.equal(text, "invalid", `tampered input: ${text} (${await tampered.innerText("#verify-detail")})`);
    assert.deepEqual(errors, []);
    await tampered.close();
  });

  const address = job.trainers[0].address;
  await step(`trainer ${address}: reliability chart plots the API's history`, async () => {
    const trainer = await apiGet(`/api/trainers/${address}`);
    const errors = await open(page, `/trainer.html?address=${address}`);
    const chart = await chartData(page, "reliability-chart");
    assert.ok(chart, "no reliability chart");
    assert.ok(trainer.reliability.history.length > 0, `the API has no reliability history for ${address}`);
    assert.deepEqual(chart.labels, trainer.reliability.history.map((h) => `block ${h.block}`));
    assert.deepEqual(chart.data, trainer.reliability.history.map((h) => Number(h.score)));
    assert.equal(await page.innerText("#reliability-score"), Number(trainer.reliability.score).toFixed(4));
    assert.equal(await page.locator("tr[data-job-id]").count(), trainer.jobs.length, "one row per job");
    assert.deepEqual(errors, []);
    await screenshot("trainer");
  });

  await step("bad URLs get a clear error naming what is wrong", async () => {
    assert.match(await openFailing(page, "/jobs.html?id=abc"), /id="abc" is not a job number/);
    assert.match(await openFailing(page, "/round.html?job=1"), /needs \?round= in its URL/);
    assert.match(await openFailing(page, "/trainer.html?address=0x12"), /address="0x12" is not an address/);
    const missing = (BigInt(jobs.items[0].id) + 1000n).toString();
    assert.match(await openFailing(page, `/jobs.html?id=${missing}`), new RegExp(`^not_found: job ${missing} `));
    await screenshot("error");
  });

  await step("create a job from the jobs page through the browser wallet", async () => {
    await open(page, "/");
    assert.equal(await page.isVisible("#create-job"), true, "the Create job form is hidden although window.ethereum is present");
    await page.fill("#create-job input[name=initialModel]", "12345");
    await page.click("#create-job button[type=submit]");
    await page.waitForFunction(() => ["created", "error"].includes(document.getElementById("create-result").dataset.state));
    const state = await page.getAttribute("#create-result", "data-state");
    assert.equal(state, "created", `createJob: ${await page.innerText("#create-result")}`);
    const newId = BigInt(await page.getAttribute("#create-result", "data-job-id"));
    assert.ok(jobs.items.every((j) => BigInt(j.id) < newId), `job ${newId} is not a new job`);
    await screenshot("create-job");
  });
}

async function main() {
  if (!base) throw new Error("set FEDPROOF_URL to the server's base URL, e.g. http://127.0.0.1:8080");
  mkdirSync(shots, { recursive: true });
  // --no-sandbox: the sandbox cannot start as root (CI runs as root).
  const browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
  try {
    await run(browser);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify({ ok: true, checks: passed.length, screenshots: shots }));
}

main().catch((error) => {
  console.error(`not ok - ${error.message}`);
  console.log(JSON.stringify({ ok: false, checks: passed.length, error: error.message }));
  process.exit(1);
});
