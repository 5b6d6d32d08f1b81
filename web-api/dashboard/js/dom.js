// DOM helpers. Every piece of text reaches the page as a text node or an attribute value set through
// the DOM API, never through innerHTML, so data from the API or the chain cannot inject markup.

/**
 * Creates an element. `attrs` are set with setAttribute (functions under `on…` keys become event
 * listeners); children are nodes, or anything else, which becomes a text node.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

/** Appends children (nested arrays flattened; null/undefined skipped; the rest as text). */
export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces the content of the element with id `id` by `children`; returns the element. */
export function fill(id, ...children) {
  const node = document.getElementById(id);
  node.replaceChildren();
  return append(node, children);
}

/** A link to a page of this dashboard, with query parameters URL-encoded. */
export function pageLink(page, params, ...children) {
  const query = new URLSearchParams(params).toString();
  return el("a", { href: query ? `${page}?${query}` : page }, ...children);
}

/** A table with a header row and one row per item; `columns` are [title, item => cell]. */
export function table(columns, items, rowAttrs = () => ({})) {
  const head = el("thead", {}, el("tr", {}, columns.map(([title]) => el("th", { scope: "col" }, title))));
  const body = el(
    "tbody",
    {},
    items.map((item) => el("tr", rowAttrs(item), columns.map(([, cell]) => el("td", {}, cell(item))))),
  );
  return el("table", {}, head, body);
}

/** A definition list from [term, value] pairs. */
export function facts(pairs) {
  return el("dl", { class: "facts" }, pairs.map(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

/** Shows an error in the page's main status box (with the API's code when there is one). */
export function showError(error) {
  const code = error && error.code ? `${error.code}: ` : "";
  const message = error && error.message ? error.message : String(error);
  const box = fill("status", `${code}${message}`);
  box.className = "status error";
  box.hidden = false;
  console.error(error);
}

/** Marks the page as fully rendered, so a reader (or the browser test) knows the data is in. */
export function markReady() {
  document.body.dataset.ready = "true";
  const box = document.getElementById("status");
  if (box && !box.classList.contains("error")) box.hidden = true;
}
