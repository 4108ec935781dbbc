// Recon's web page: four screens over the same /api endpoints any client calls. No build step, no framework.
// Every value from the API is put into the page as text (textContent), never as HTML.
"use strict";

// Digits after the decimal point, as Recon.Core's Currency.MinorUnitExponent (2 unless listed).
const EXPONENTS = { JPY: 0, KRW: 0, VND: 0, CLP: 0, ISK: 0, HUF: 2, BHD: 3, KWD: 3, OMR: 3, JOD: 3, TND: 3 };
// The reason codes ReviewStore.ResolutionCodes accepts.
const RESOLUTION_CODES = ["timing_difference", "written_off", "duplicate_refunded", "bank_error", "ledger_corrected", "not_ours", "other"];
const KEY_STORE = "recon.key";

/** Formats integer minor units exactly (no floating point): 123456 USD -> "1,234.56 USD", -5 JPY -> "-5 JPY". */
function formatMoney(minor, currency) {
  if (minor === null || minor === undefined) return "";
  const code = (currency || "").trim().toUpperCase();
  const exp = Object.prototype.hasOwnProperty.call(EXPONENTS, code) ? EXPONENTS[code] : 2;
  const negative = String(minor).startsWith("-");
  const digits = String(minor).replace(/^[-+]/, "").padStart(exp + 1, "0");
  const whole = digits.slice(0, digits.length - exp).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const fraction = exp > 0 ? "." + digits.slice(digits.length - exp) : "";
  return (negative ? "-" : "") + whole + fraction + (code ? " " + code : "");
}

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

class ApiError extends Error {
  constructor(method, path, status, statusText, detail) {
    super(`${method} ${path} → ${status} ${statusText}${detail ? ": " + detail : ""}`);
    this.status = status;
  }
}

/** Calls the API with the key the user gave (function key as x-functions-key, "Bearer …" as Authorization). */
async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  const key = sessionStorage.getItem(KEY_STORE);
  if (key) {
    if (/^bearer\s/i.test(key)) headers["Authorization"] = key;
    else headers["x-functions-key"] = key;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  } catch (e) {
    throw new ApiError(method, path, 0, "no answer", String(e.message || e));
  }
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!response.ok) {
    let detail = json && (json.error || (json.errors && json.errors.join("; ")));
    if (!detail) {
      detail = response.status === 401 || response.status === 403 ? "the key is missing or wrong (enter it at the top right)"
        : response.status === 404 ? `this host has no ${path.split("?")[0]} endpoint, or no such item`
        : text.slice(0, 300);
    }
    throw new ApiError(method, path, response.status, response.statusText, detail);
  }
  return json;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && String(v).trim() !== "") q.set(k, String(v).trim());
  const s = q.toString();
  return s ? "?" + s : "";
}

function showError(id, error) {
  const box = document.getElementById(id);
  if (!error) { box.hidden = true; box.textContent = ""; return; }
  box.hidden = false;
  box.textContent = error.message || String(error);
}

function say(text, bad) {
  const m = document.getElementById("message");
  m.textContent = text;
  m.className = bad ? "bad" : "";
}

function fill(tbody, rows, columns) {
  tbody.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { class: "empty", colspan: columns }, "none"))]));
}

function seconds(v) { return v === null || v === undefined ? "" : Number(v).toFixed(2); }
function utc(v) { return v ? String(v).replace("T", " ").replace(/\.\d+/, "").replace(/(Z|\+00:00)$/, "") : ""; }

// ---------- runs overview ----------
async function loadRuns() {
  showError("runs-error", null);
  let data;
  try { data = await api("GET", "/api/runs"); } catch (e) { showError("runs-error", e); return; }
  const status = document.getElementById("runs-status");
  const by = data.batches.byStatus || {};
  status.replaceChildren(...["queued", "running", "late", "done", "failed"].flatMap(s => [el("dt", {}, s), el("dd", { "data-status": s }, String(by[s] || 0))]),
    el("dt", {}, "total"), el("dd", { "data-status": "total" }, String(data.batches.total)),
    el("dt", {}, "ran late"), el("dd", {}, String(data.batches.late)));
  const c = data.connections;
  document.getElementById("runs-connections").replaceChildren(
    el("dt", {}, "PostgreSQL server connections"), el("dd", { "data-field": "serverConnections" }, `${c.serverConnections} of ${c.maxConnections}`),
    el("dt", {}, "this host's pool in use"), el("dd", {}, `${c.poolInUse} of ${c.poolCapacity}`),
    el("dt", {}, "pool peak since start"), el("dd", {}, String(c.poolPeakInUse)));
  fill(document.querySelector("#runs-latency tbody"), data.latency.map(l => el("tr", {},
    el("td", {}, l.priorityClass), el("td", { class: "num" }, l.batches), el("td", { class: "num" }, seconds(l.latencyP50)), el("td", { class: "num" }, seconds(l.latencyP99)),
    el("td", { class: "num" }, seconds(l.runP50)), el("td", { class: "num" }, seconds(l.runP99)), el("td", { class: "num" }, seconds(l.runMax)))), 7);
  fill(document.querySelector("#runs-calls tbody"), data.calls.map(p => el("tr", { "data-provider": p.provider },
    el("td", {}, p.provider), el("td", { class: "num" }, p.batches), el("td", { class: "num" }, p.calls), el("td", { class: "num", "data-field": "throttled" }, p.throttled), el("td", { class: "num" }, p.tokenWaits))), 5);
  fill(document.querySelector("#runs-list tbody"), data.runs.map(r => el("tr", { "data-run": r.runId },
    el("td", {}, el("button", { type: "button", class: "secondary", onclick: () => loadReport(r.runId) }, r.runId)),
    el("td", {}, utc(r.firstQueuedAt)), el("td", { class: "num" }, r.total), el("td", { class: "num" }, r.queued), el("td", { class: "num" }, r.running),
    el("td", { class: "num" }, r.done), el("td", { class: "num" }, r.failed), el("td", { class: "num" }, r.late), el("td", { class: "detail" }, r.lastFailure || ""))), 9);
}

async function loadReport(runId) {
  showError("runs-error", null);
  let data;
  try { data = await api("GET", `/api/runs/${encodeURIComponent(runId)}/report`); } catch (e) { showError("runs-error", e); return; }
  document.getElementById("run-report").hidden = false;
  document.getElementById("run-report-id").textContent = runId;
  fill(document.querySelector("#run-report-results tbody"), data.results.map(r => el("tr", { "data-provider": r.provider },
    el("td", {}, r.provider), ...[r.transactions, r.matched, r.proposed, r.ambiguous, r.unmatched, r.duplicates, r.openExceptions].map(n => el("td", { class: "num" }, n)))), 8);
}

// ---------- review queue ----------
let reviewAfter = null;
let reviewItems = new Map();

function itemKey(i) { return i.kind === "ledger_entry" ? `ledger:${i.ledgerId}` : `${i.provider}:${i.providerTxId}`; }

async function loadReview(more) {
  showError("review-error", null);
  const f = new FormData(document.getElementById("review-filter"));
  const params = Object.fromEntries(f.entries());
  if (more && reviewAfter) params.after = reviewAfter;
  let data;
  try { data = await api("GET", "/api/exceptions" + query(params)); } catch (e) { showError("review-error", e); return; }
  if (!more) reviewItems = new Map();
  const rows = data.items.map(i => { reviewItems.set(itemKey(i), i); return reviewRow(i); });
  const tbody = document.querySelector("#review-list tbody");
  if (more) tbody.append(...rows); else fill(tbody, rows, 8);
  reviewAfter = data.next;
  document.getElementById("review-more").hidden = !data.next;
}

function reviewRow(i) {
  const key = itemKey(i);
  const isTx = i.kind === "provider_transaction";
  const ledgerInput = el("input", { name: "ledgerIds", placeholder: "ledger id(s)", "aria-label": `ledger ids for ${key}` });
  const note = el("input", { name: "note", placeholder: "note", "aria-label": `note for ${key}` });
  const code = el("select", { name: "reasonCode", "aria-label": `reason code for ${key}` }, RESOLUTION_CODES.map(c => el("option", { value: c }, c.replace(/_/g, " "))));
  const candidates = (i.candidates || []).map(c => el("span", { class: "cand" },
    el("button", { type: "button", class: "secondary", title: "use this entry", onclick: () => { ledgerInput.value = c.id; } }, c.id), " ",
    formatMoney(c.amountMinor, c.currency), " · ", c.valueDate || "", c.reference ? " · " + c.reference : ""));
  const actions = el("div", { class: "actions" },
    i.outcome === "proposed" ? el("span", { class: "group" }, el("button", { type: "button", "data-action": "confirm", onclick: () => confirmProposal(i) }, "Confirm")) : null,
    isTx ? el("span", { class: "group" }, ledgerInput, el("button", { type: "button", "data-action": "match", onclick: () => manualMatch([i], ledgerInput.value, note.value) }, "Match")) : null,
    el("span", { class: "group" }, code, el("button", { type: "button", class: "secondary", "data-action": "resolve", onclick: () => resolve(i, code.value, note.value) }, "Resolve")),
    el("span", { class: "group" }, note));
  return el("tr", { "data-item": key, "data-outcome": i.outcome || "" },
    el("td", {}, isTx ? el("input", { type: "checkbox", name: "select", value: key, "aria-label": `select ${key}` }) : null),
    el("td", {}, el("span", { class: "mono" }, isTx ? `${i.provider}:${i.providerTxId}` : i.ledgerId), el("br"), el("small", {}, isTx ? "provider transaction" : "ledger entry", ` · open ${i.ageDays} d`)),
    el("td", {}, i.account || ""), el("td", {}, i.valueDate || ""),
    el("td", { class: "num", "data-field": "amount" }, formatMoney(i.amountMinor, i.currency)),
    el("td", {}, i.outcome ? el("span", { class: `tag ${i.outcome}` }, i.outcome) : "", i.score !== null && i.score !== undefined ? ` ${i.score}` : "", el("br"), el("small", {}, i.reason || "")),
    el("td", {}, candidates.length ? candidates : el("small", {}, "none")),
    el("td", {}, actions));
}

async function act(what, call) {
  try {
    const result = await call();
    say(what(result));
  } catch (e) {
    say(e.message, true);
  }
  await loadReview(false);
}

function confirmProposal(i) {
  return act(r => `Confirmed ${i.provider}:${i.providerTxId} → ${r.ledgerIds.join(", ")}`,
    () => api("POST", "/api/matches", { transactions: [{ provider: i.provider, providerTxId: i.providerTxId, etag: i.etag }] }));
}

function manualMatch(items, ledgerText, note) {
  const ledgerIds = String(ledgerText || "").split(/[\s,;]+/).filter(Boolean);
  if (ledgerIds.length === 0) { say("Name the ledger entry (or entries) to match with.", true); return Promise.resolve(); }
  return act(r => `Matched ${items.map(itemKey).join(", ")} → ${r.ledgerIds.join(", ")}` + (r.differenceMinor ? ` (difference ${formatMoney(r.differenceMinor, items[0].currency)})` : ""),
    () => api("POST", "/api/matches", {
      transactions: items.map(i => ({ provider: i.provider, providerTxId: i.providerTxId, etag: i.etag })),
      ledgerIds, note: note || undefined,
    }));
}

function resolve(i, reasonCode, note) {
  return act(() => `Resolved ${itemKey(i)} as ${reasonCode}`,
    () => api("POST", `/api/exceptions/${i.id}/resolve`, { reasonCode, note: note || undefined, etag: i.etag }));
}

// ---------- balance proof ----------
async function loadBalances() {
  showError("balances-error", null);
  const params = Object.fromEntries(new FormData(document.getElementById("balances-filter")).entries());
  const list = document.getElementById("balances-list");
  list.replaceChildren();
  let data;
  try { data = await api("GET", "/api/balances" + query(params)); } catch (e) { showError("balances-error", e); return; }
  if (!data.items.length) { list.append(el("p", { class: "empty" }, "No statement for that account and day.")); return; }
  for (const b of data.items) {
    const money = m => formatMoney(m, b.currency);
    const itemRows = (items, sign) => items.map(x => el("tr", {}, el("td", {}, `${sign} `, el("span", { class: "mono" }, x.id), x.description ? ` · ${x.description}` : ""), el("td", { class: "num" }, money(x.amountMinor))));
    list.append(el("div", { class: "proof", "data-account": b.account, "data-day": b.day },
      el("h3", {}, `${b.account} · ${b.day} · ${b.provider} · ${b.currency} `, el("span", { class: `tag ${b.proved ? "proved" : "unproved"}`, "data-field": "proved" }, b.proved ? "proved" : "does not prove")),
      el("table", {}, el("tbody", {},
        el("tr", {}, el("td", {}, "Closing balance per statement"), el("td", { class: "num", "data-field": "statement" }, money(b.statementClosingMinor))),
        el("tr", {}, el("td", { colspan: 2 }, el("small", {}, `On the statement, not yet in the ledger (${b.openProviderItems.length})`))),
        itemRows(b.openProviderItems, "−"),
        el("tr", {}, el("td", { colspan: 2 }, el("small", {}, `In the ledger, not yet on the statement (${b.openLedgerItems.length})`))),
        itemRows(b.openLedgerItems, "+"),
        el("tr", {}, el("td", { class: "total" }, "Balance per ledger"), el("td", { class: "num total", "data-field": "ledger" }, money(b.ledgerBalanceMinor))),
        el("tr", {}, el("td", {}, "Unexplained difference"), el("td", { class: "num", "data-field": "difference" }, money(b.differenceMinor)))))));
  }
}

// ---------- audit trail ----------
async function loadAudit() {
  showError("audit-error", null);
  let data;
  try { data = await api("GET", "/api/audit?limit=100"); } catch (e) { showError("audit-error", e); return; }
  fill(document.querySelector("#audit-list tbody"), data.items.map(a => el("tr", { "data-action": a.action, "data-subject": a.subject },
    el("td", { class: "num" }, a.id), el("td", {}, utc(a.at)), el("td", {}, a.actor), el("td", {}, a.action), el("td", { class: "mono" }, a.subject),
    el("td", { class: "detail mono" }, JSON.stringify(a.detail)))), 6);
}

// ---------- screens ----------
const LOADERS = { runs: loadRuns, review: () => loadReview(false), balances: () => { showError("balances-error", null); }, audit: loadAudit };

function show() {
  const name = (location.hash || "#runs").slice(1);
  const screen = Object.prototype.hasOwnProperty.call(LOADERS, name) ? name : "runs";
  for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== `screen-${screen}`;
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.screen === screen);
  document.title = `Recon · ${document.getElementById(`screen-${screen}`).dataset.title}`;
  say("");
  return LOADERS[screen]();
}

function keyState() {
  document.getElementById("key-state").textContent = sessionStorage.getItem(KEY_STORE) ? "key set" : "no key";
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("key-form").addEventListener("submit", e => {
    e.preventDefault();
    const v = document.getElementById("key").value.trim();
    if (v) sessionStorage.setItem(KEY_STORE, v); else sessionStorage.removeItem(KEY_STORE);
    document.getElementById("key").value = "";
    keyState();
    show();
  });
  document.getElementById("runs-refresh").addEventListener("click", loadRuns);
  document.getElementById("audit-refresh").addEventListener("click", loadAudit);
  document.getElementById("review-more").addEventListener("click", () => loadReview(true));
  document.getElementById("review-filter").addEventListener("submit", e => { e.preventDefault(); loadReview(false); });
  document.getElementById("balances-filter").addEventListener("submit", e => { e.preventDefault(); loadBalances(); });
  document.getElementById("review-group").addEventListener("submit", e => {
    e.preventDefault();
    const keys = [...document.querySelectorAll("#review-list input[name=select]:checked")].map(c => c.value);
    if (keys.length === 0) { say("Select the transactions to match first.", true); return; }
    manualMatch(keys.map(k => reviewItems.get(k)), new FormData(e.target).get("ledgerId"), "");
  });
  window.addEventListener("hashchange", show);
  keyState();
  show();
});
