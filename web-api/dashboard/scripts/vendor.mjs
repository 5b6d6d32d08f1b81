// Copies the browser builds of the npm dependencies into vendor/, which the server serves as
// /vendor/: the pages load nothing from a CDN, and package-lock.json pins exactly what they get.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const files = [
  // ES module build: the pages import it.
  ["ethers/dist/ethers.min.js", "ethers.min.js"],
  // UMD build: self-contained (the ESM build imports @kurkle/color by a bare name).
  ["chart.js/dist/chart.umd.min.js", "chart.umd.min.js"],
  ["chart.js/dist/chart.umd.min.js.map", "chart.umd.min.js.map"],
];

mkdirSync(join(root, "vendor"), { recursive: true });
for (const [from, to] of files) {
  copyFileSync(join(root, "node_modules", from), join(root, "vendor", to));
}
console.log(`vendored ${files.length} files into ${join(root, "vendor")}`);
