// The REST API client: one place that knows the paths and turns the API's error shape
// ({"error": {"code", "message"}}) into an ApiError.

/** An error answered by the API (or a network failure, with code "network"). */
export class ApiError extends Error {
  /** Builds the error from the HTTP status and the API's code and message. */
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** GETs a JSON document from the API, throwing ApiError on a non-2xx answer. */
export async function getJson(path) {
  let response;
  try {
    response = await fetch(path, { headers: { accept: "application/json" } });
  } catch (error) {
    throw new ApiError(0, "network", `cannot reach the API at ${path}: ${error.message}`);
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(response.status, "bad_json", `${path} answered ${response.status} with a body that is not JSON`);
  }
  if (!response.ok) {
    const error = body && body.error ? body.error : {};
    throw new ApiError(response.status, error.code || `http_${response.status}`, error.message || `${path} answered ${response.status}`);
  }
  return body;
}

const enc = encodeURIComponent;

/** The API's read endpoints, by name. */
export const api = {
  /** Chain id, public RPC URL, market and registry addresses. */
  config: () => getJson("/api/config"),
  /** A page of jobs; `filters` holds status, owner, page, per_page (empty values are left out). */
  jobs: (filters = {}) => {
    const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v !== undefined && v !== null && v !== ""));
    return getJson(`/api/jobs?${query}`);
  },
  /** One job with its rounds and trainers. */
  job: (id) => getJson(`/api/jobs/${enc(id)}`),
  /** One round: slots, outliers, proof and public inputs. */
  round: (id, round) => getJson(`/api/jobs/${enc(id)}/rounds/${enc(round)}`),
  /** The server's off-chain verification of a round's proof. */
  audit: (id, round) => getJson(`/api/jobs/${enc(id)}/rounds/${enc(round)}/audit`),
  /** A trainer's earnings and reliability history. */
  trainer: (address) => getJson(`/api/trainers/${enc(address)}`),
};
