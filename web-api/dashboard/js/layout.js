// What every page shares: the header (navigation and trainer lookup), reading and checking the URL's
// parameters, and running the page's render with its errors shown instead of thrown.
import { el, fill, markReady, showError } from "./dom.js";

/** A URL parameter that must match `pattern`; throws a message naming the parameter otherwise. */
export function param(name, pattern, what) {
  const value = new URLSearchParams(window.location.search).get(name);
  if (value === null || value === "") throw new Error(`this page needs ?${name}= in its URL (${what})`);
  if (!pattern.test(value)) throw new Error(`the URL parameter ${name}=${JSON.stringify(value)} is not ${what}`);
  return value;
}

/** A job id parameter (a decimal number). */
export const JOB_ID = /^[0-9]{1,78}$/;
/** A round number parameter. */
export const ROUND = /^[0-9]{1,10}$/;
/** An address parameter (0x and 40 hex digits). */
export const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function header() {
  const input = el("input", {
    name: "address",
    placeholder: "trainer address 0x…",
    pattern: ADDRESS.source,
    title: "0x followed by 40 hex digits",
    required: true,
    size: 44,
  });
  return [
    el("a", { class: "brand", href: "/" }, "fedproof"),
    el("nav", {}, el("a", { href: "/" }, "Jobs")),
    el("form", { class: "lookup", action: "/trainer.html", method: "get" }, input, el("button", { type: "submit" }, "Trainer")),
  ];
}

/** Draws the header, then runs `render` (async); a failure is shown in the page's status box. */
export async function startPage(render) {
  fill("site-header", header());
  try {
    await render();
    markReady();
  } catch (error) {
    showError(error);
  }
}
