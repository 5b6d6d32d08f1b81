// Chart.js wrappers for the dashboard's three charts. Chart.js comes from /vendor/chart.umd.min.js
// (a classic script, which sets window.Chart). Each chart keeps the exact values it plots in its
// dataset, so a reader can get them back with Chart.getChart(canvas).data.

const Chart = window.Chart;

const accent = "#2f6fde";
const accentSoft = "rgba(47, 111, 222, 0.25)";

function common(yTitle, extra = {}) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    // No animation: the chart is final as soon as it is drawn (screenshots and tests see the data).
    animation: false,
    plugins: { legend: { display: false } },
    scales: {
      x: { title: { display: true, text: extra.xTitle || "" } },
      y: { beginAtZero: true, title: { display: true, text: yTitle }, ...extra.y },
    },
  };
}

/** Accuracy per round (null where the owner has not published it: a gap in the line). */
export function accuracyChart(canvas, rounds) {
  return new Chart(canvas, {
    type: "line",
    data: {
      labels: rounds.map((r) => `round ${r.round}`),
      datasets: [
        {
          label: "accuracy",
          data: rounds.map((r) => (r.accuracy === null || r.accuracy === undefined ? null : Number(r.accuracy))),
          borderColor: accent,
          backgroundColor: accentSoft,
          spanGaps: false,
          pointRadius: 4,
        },
      ],
    },
    options: common("accuracy", { xTitle: "round", y: { max: 1 } }),
  });
}

/** Rewards per trainer in ether; `weis` keeps the exact wei strings behind the plotted numbers. */
export function rewardsChart(canvas, trainers, toEther) {
  return new Chart(canvas, {
    type: "bar",
    data: {
      labels: trainers.map((t) => `slot ${t.slot}`),
      datasets: [
        {
          label: "earned (ETH)",
          data: trainers.map((t) => toEther(t.earned)),
          weis: trainers.map((t) => String(t.earned)),
          backgroundColor: accent,
        },
      ],
    },
    options: common("earned (ETH)", { xTitle: "trainer" }),
  });
}

/** Reliability score after each observation, by block. */
export function reliabilityChart(canvas, history) {
  return new Chart(canvas, {
    type: "line",
    data: {
      labels: history.map((h) => `block ${h.block}`),
      datasets: [
        {
          label: "reliability",
          data: history.map((h) => Number(h.score)),
          borderColor: accent,
          backgroundColor: accentSoft,
          stepped: true,
          pointRadius: 4,
        },
      ],
    },
    options: common("reliability score", { xTitle: "block", y: { max: 1 } }),
  });
}
