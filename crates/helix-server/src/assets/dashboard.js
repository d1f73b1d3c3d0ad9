// The Helix dashboard. Everything shown comes from the API with the bearer
// token; text from events is set with textContent only, because error
// messages come from untrusted services.
"use strict";

const MAX_EVENTS = 300;
// Events read back from the log stay on the page up to this many.
const MAX_HISTORY = 3000;
let token = null;
// `repair_id:seq` of every event on the page: the log and the live stream
// overlap at the moment the page opens.
const seen = new Set();
// The log's cursor for the next older page; null at its start.
let historyNext = undefined;
let historyLoading = false;

function $(id) { return document.getElementById(id); }

function readToken() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    sessionStorage.setItem("helix-token", fromHash);
    history.replaceState(null, "", location.pathname);
    return fromHash;
  }
  return sessionStorage.getItem("helix-token");
}

function setStatus(text, cls) {
  const s = $("status");
  s.textContent = text;
  s.className = "pill " + (cls || "");
}

async function api(path) {
  const r = await fetch(path, { headers: { Authorization: "Bearer " + token } });
  if (r.status === 401) { askToken(); throw new Error("unauthorized"); }
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

// Money in USD with cents; a cost below a cent still shows it is not zero.
function usd(micro) {
  const v = micro / 1e6;
  if (v > 0 && v < 0.01) return "< $0.01";
  return "$" + v.toFixed(2);
}

// Durations with their unit.
function duration(ms) {
  if (ms < 1000) return Math.round(ms) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
  return (ms / 60000).toFixed(1) + " min";
}

function cell(tr, value, numeric) {
  const td = document.createElement("td");
  // A column is [shown text, value to sort by] or a plain value.
  const [text, key] = Array.isArray(value) ? value : [value, value];
  td.textContent = text;
  td.dataset.key = String(key);
  if (numeric) td.className = "num";
  tr.appendChild(td);
}

function fillTable(id, rows, columns, rowKey) {
  const table = $(id);
  const body = table.tBodies[0];
  const heads = [...table.tHead.rows[0].cells];
  body.replaceChildren();
  for (const row of rows) {
    const tr = document.createElement("tr");
    if (rowKey) tr.dataset.key = rowKey(row);
    columns.forEach((c, i) => cell(tr, c(row), heads[i].classList.contains("num")));
    body.appendChild(tr);
  }
  applySort(table);
}

// Sortable tables: a header is a button; the order survives refreshes.
const sorting = new Map();

function applySort(table) {
  const s = sorting.get(table.id);
  if (!s) return;
  const body = table.tBodies[0];
  const rows = [...body.rows];
  const val = (tr) => {
    const k = tr.cells[s.col]?.dataset.key ?? "";
    const n = Number(k);
    return k !== "" && !Number.isNaN(n) ? n : k.toLowerCase();
  };
  rows.sort((a, b) => {
    const [x, y] = [val(a), val(b)];
    const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return s.dir === "ascending" ? c : -c;
  });
  body.append(...rows);
  [...table.tHead.rows[0].cells].forEach((th, i) =>
    th.setAttribute("aria-sort", i === s.col ? s.dir : "none"));
}

function makeSortable(table) {
  [...table.tHead.rows[0].cells].forEach((th, col) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = th.textContent;
    th.replaceChildren(b);
    th.setAttribute("aria-sort", "none");
    b.addEventListener("click", () => {
      const s = sorting.get(table.id);
      const dir = s && s.col === col && s.dir === "descending" ? "ascending" : "descending";
      sorting.set(table.id, { col, dir });
      applySort(table);
    });
  });
}

async function refresh() {
  try {
    const [summary, genes] = await Promise.all([api("/v1/summary"), api("/v1/genes")]);
    $("mode").textContent = "mode: " + summary.mode;
    facts($("totals"), [["failures", summary.failures], ["verified", summary.verified],
      ["retry failed", summary.verify_failed], ["gave up", summary.gave_up],
      ["unrecognised", summary.unrecognised], ["immune hits", summary.immune_hits],
      ["LLM diagnoses", summary.diagnoses_asked],
      ["repair cost", usd(summary.repair_cost_micro_usd)]]);
    const b = summary.budget;
    $("budget").textContent = b
      ? `${b.month}: ${usd(b.spent)} spent, ${usd(b.reserved)} reserved of ${usd(b.cap)}`
      : "no budget configured";
    fillTable("genes", genes.genes, [g => g.key.code + "/" + g.key.category, g => g.strategy,
      g => [g.q.toFixed(3), g.q], g => [g.confidence.toFixed(2), g.confidence], g => g.source,
      g => [g.successes + " / " + g.failures, g.successes],
      g => [duration(g.mean_ms), g.mean_ms], g => [usd(g.mean_cost), g.mean_cost]],
      g => `${g.key.code}/${g.key.category}/${g.strategy}`);
  } catch (e) {
    console.warn(e);
  }
}

function describe(e) {
  switch (e.event) {
    case "call_failed": return `call ${e.attempt} failed: ${e.message}`;
    case "perceived": return `perceived ${e.failure.code}/${e.failure.category} (${e.failure.platform})`;
    case "diagnosed": return `diagnosed by ${e.diagnosis.by}: ${e.diagnosis.code}/${e.diagnosis.category}` + (e.remembered ? " (remembered)" : "");
    case "gene_hit": return `gene hit: ${e.gene.strategy} (q ${e.gene.q.toFixed(2)})`;
    case "evaluated": return "ranked " + e.ranked.map(r => r[0]).join(", ");
    case "committing": return `committing ${e.strategy}` + (e.immune ? " (immune)" : "");
    case "committed": return `committed ${e.strategy} in ${e.ms} ms`;
    case "verified": return `verified ${e.strategy}`;
    case "gave_up": return `gave up: ${e.reason}`;
    case "gene_recorded": return `gene ${e.gene.strategy}: q ${e.gene.q.toFixed(2)}`;
    default: return e.event;
  }
}

function eventItem(e) {
  const li = document.createElement("li");
  li.dataset.repairId = String(e.repair_id);
  li.className = e.event;
  const when = new Date(e.at).toLocaleTimeString();
  li.textContent = `${when} #${e.repair_id} ${e.event}: ${describe(e)}`;
  return li;
}

function show(e) {
  const key = `${e.repair_id}:${e.seq}`;
  if (seen.has(key)) return;
  seen.add(key);
  const list = $("events");
  list.prepend(eventItem(e));
  while (list.children.length > MAX_EVENTS + MAX_HISTORY) list.lastChild.remove();
  if (["gene_recorded", "gave_up", "verified", "perceived"].includes(e.event)) refreshSoon();
}

// What happened before the page opened, newest first, a page at a time;
// the next page loads when the "Older events" button scrolls into view.
async function loadHistory() {
  if (historyLoading || historyNext === null) return;
  historyLoading = true;
  try {
    const q = historyNext === undefined ? "" : `&before=${historyNext}`;
    const page = await api(`/v1/history?limit=100${q}`);
    const list = $("events");
    for (const e of page.events) {
      const key = `${e.repair_id}:${e.seq}`;
      if (seen.has(key) || list.children.length >= MAX_EVENTS + MAX_HISTORY) continue;
      seen.add(key);
      list.append(eventItem(e));
    }
    historyNext = page.next === undefined ? null : page.next;
    $("older").hidden = historyNext === null;
    $("history-status").textContent = historyNext === null
      ? "the start of the log" : "";
  } catch (err) {
    $("history-status").textContent = "the log could not be read: " + err.message;
    historyNext = null;
  } finally {
    historyLoading = false;
  }
}

// Charts: uPlot (vendored, served by the binary). Each chart's container
// says how many points it drew (`data-points`), for people and tests.
const charts = new Map();
let seriesAt = 0;

function drawChart(id, title, t, lines, opts = {}) {
  const el = $(id);
  const data = [t, ...lines.map((l) => l.values)];
  el.dataset.points = String(lines.reduce(
    (n, l) => n + l.values.filter((v) => v !== null && v !== undefined).length, 0));
  const old = charts.get(id);
  if (old && old.series.length === data.length) { old.setData(data); return; }
  if (old) old.destroy();
  const width = Math.max(200, el.clientWidth);
  const chart = new uPlot({
    title, width, height: 200,
    scales: { x: { time: true }, ...(opts.scales || {}) },
    axes: [{}, { size: 60, values: opts.format ? (u, vals) => vals.map(opts.format) : undefined }],
    series: [{}, ...lines.map((l) => ({ label: l.label, stroke: l.color, width: 1.5,
      points: { show: true, size: 4 }, spanGaps: false }))],
  }, data, el);
  charts.set(id, chart);
}

const colors = { ok: "#1f9d63", bad: "#d04848", warn: "#d9a21b", info: "#4a7bd1", muted: "#888" };

// At most one read of the log's window every 5 s; one asked for sooner
// runs when the 5 s are up, so the last event is never left out.
let seriesLater = null;
async function refreshSeries(force) {
  if (typeof uPlot === "undefined") return;
  const now = Date.now();
  if (!force && now - seriesAt < 5000) {
    seriesLater ||= setTimeout(() => { seriesLater = null; refreshSeries(true); }, 5000 - (now - seriesAt));
    return;
  }
  seriesAt = now;
  try {
    const r = await api(`/v1/series?window=${$("window").value}`);
    const s = r.series;
    fillTable("results", s.by_failure, [r => r.key, r => r.seen, r => r.verified,
      r => r.verify_failed, r => r.gave_up, r => r.immune]);
    $("results-window").textContent = $("window").selectedOptions[0].textContent;
    drawChart("chart-repairs", "", s.t, [
      { label: "verified", values: s.verified, color: colors.ok },
      { label: "retry failed", values: s.verify_failed, color: colors.warn },
      { label: "gave up", values: s.gave_up, color: colors.bad },
      { label: "unrecognised", values: s.unrecognised, color: colors.muted },
    ]);
    drawChart("chart-immune", "", s.t, [
      { label: "immune hits / failures", values: s.immune_ratio, color: colors.ok },
    ], { scales: { y: { range: [0, 1] } }, format: (v) => Math.round(v * 100) + " %" });
    const stages = Object.entries(s.stage_p99_ms).map(([k, v], i) => (
      { label: `${k} p99`, values: v, color: `hsl(${(i * 47) % 360} 55% 55%)` }));
    drawChart("chart-latency", "", s.t, [
      { label: "run p50", values: s.latency_p50_ms, color: colors.info },
      { label: "run p99", values: s.latency_p99_ms, color: colors.bad },
      ...stages,
    ], { format: (v) => duration(v) });
    const cap = r.budget ? s.t.map(() => r.budget.cap) : null;
    drawChart("chart-budget", "", s.t, [
      { label: "spent", values: s.spent_micro_usd, color: colors.warn },
      ...(cap ? [{ label: "cap", values: cap, color: colors.bad }] : []),
    ], { format: (v) => "$" + (v / 1e6).toFixed(2) });
  } catch (e) {
    console.warn(e);
  }
}

// The network's views: the joined registry, mesh and intent server, read
// through the server. A view is null when not joined, {error} when down.
async function refreshNetwork() {
  try {
    const n = await api("/v1/network");
    showRegistry(n.registry);
    showMesh(n.mesh);
    showObjectives(n.objectives);
  } catch (e) {
    console.warn(e);
  }
}

function showError(id, what, r) {
  $(id).hidden = !r.error;
  if (r.error) $(id).textContent = what + " did not answer: " + r.error;
  return Boolean(r.error);
}

function facts(dl, pairs) {
  dl.replaceChildren();
  for (const [k, v] of pairs) {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = String(v);
    dl.append(dt, dd);
  }
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

const when = (ms) => [new Date(ms).toLocaleString(), ms];

function showRegistry(r) {
  $("registry").hidden = r === null;
  if (r === null || showError("registry-error", "the registry", r)) return;
  $("registry-url").textContent = r.url;
  facts($("registry-stats"), [["genes", r.stats.genes], ["pushes", r.stats.pushes],
    ["agents", r.stats.agents], ["pull threshold", r.stats.threshold]]);
  fillTable("registry-top", r.top, [(g) => `${g.code}/${g.category}`, (g) => g.strategy,
    (g) => [g.quality.toFixed(3), g.quality], (g) => g.verified_agents, (g) => g.pushes,
    (g) => [duration(g.mean_ms), g.mean_ms]]);
  const at = (x) => when(x.at);
  fillTable("registry-pushes", r.recent.pushes, [at, (p) => p.agent, (p) => p.key, (p) => p.strategy]);
  fillTable("registry-refusals", r.recent.refusals, [at, (p) => p.agent, (p) => p.reason, (p) => p.message]);
}

// TIP-20 amounts have six decimals; base units arrive as strings.
function units(s) {
  const d = String(s).padStart(7, "0");
  const frac = d.slice(-6).replace(/0+$/, "");
  return d.slice(0, -6) + (frac ? "." + frac : "");
}

// An address or hash cut to its ends (the whole of it in the cell's title):
// a saga's row stays one line on a phone.
function short(h) {
  return h.length > 14 ? h.slice(0, 8) + "\u2026" + h.slice(-4) : h;
}

function action(a) {
  return a.hash ? `${a.status} ${short(a.hash)}` : a.status;
}

function showMesh(m) {
  $("mesh").hidden = m === null;
  if (m === null || showError("mesh-error", "the mesh", m)) return;
  const agents = [];
  const down = [];
  for (const n of m.nodes) {
    if (n.error) down.push(`${n.url}: ${n.error}`);
    else for (const a of n.agents) agents.push({ node: n.node, ...a });
  }
  $("mesh-nodes-error").hidden = down.length === 0;
  $("mesh-nodes-error").textContent = down.length ? "nodes that did not answer: " + down.join("; ") : "";
  fillTable("mesh-agents", agents, [(a) => a.node, (a) => a.address, (a) => when(a.since)]);
  const list = $("mesh-sagas");
  list.replaceChildren();
  if (m.sagas === null) { list.append(el("p", "no saga log joined ([mesh] saga_log)", "muted")); return; }
  if (m.sagas.error) { list.append(el("p", "the saga log did not answer: " + m.sagas.error, "bad")); return; }
  if (m.sagas.length === 0) list.append(el("p", "no sagas yet", "muted"));
  for (const g of m.sagas) {
    const art = el("article");
    art.dataset.saga = g.id;
    let head = `${g.id}: ${g.state}${g.in_flight ? " (in flight)" : ""}`;
    if (g.failed_step !== undefined) head += `, step ${g.failed_step + 1} failed: ${g.reason || ""}`;
    art.append(el("h3", head));
    if (g.error) art.append(el("p", g.error, "bad"));
    const wrap = el("div", undefined, "table-wrap");
    const t = el("table");
    const hr = t.createTHead().insertRow();
    for (const h of ["#", "step", "from", "to", "amount", "payment", "refund"]) hr.append(el("th", h));
    const body = t.createTBody();
    g.steps.forEach((s, i) => {
      const tr = body.insertRow();
      const cells = [[i + 1], [s.name], [short(s.from), s.from], [short(s.to), s.to], [units(s.amount)],
        [action(s.pay), s.pay.hash], [action(s.refund), s.refund.hash]];
      for (const [text, whole] of cells) {
        const td = el("td", String(text));
        if (whole) td.title = whole;
        tr.append(td);
      }
    });
    wrap.append(t);
    art.append(wrap, el("p", `last moved ${new Date(g.updated_at).toLocaleString()}`, "muted"));
    list.append(art);
  }
}

// Depth of each task: one more than the deepest it waits for.
function levels(tasks) {
  const by = new Map(tasks.map((t) => [t.id, t]));
  const depth = new Map();
  const of = (t, seen) => {
    if (depth.has(t.id)) return depth.get(t.id);
    if (seen.has(t.id)) return 0;
    seen.add(t.id);
    const d = t.after.reduce((m, a) => (by.has(a) ? Math.max(m, of(by.get(a), seen) + 1) : m), 0);
    depth.set(t.id, d);
    return d;
  };
  const cols = [];
  for (const t of tasks) (cols[of(t, new Set())] ||= []).push(t);
  return cols.filter(Boolean);
}

function taskCard(t) {
  const c = el("div", undefined, "task " + t.state);
  c.dataset.task = t.id;
  c.dataset.state = t.state;
  c.append(el("b", t.id), el("span", t.state, "state"));
  let what = t.what;
  if (t.until !== undefined) what += " until " + new Date(t.until * 1000).toLocaleString();
  c.append(el("div", what));
  if (t.after.length) c.append(el("div", "after " + t.after.join(", "), "muted"));
  if (t.repairs.length) c.append(el("div", "repaired: " + t.repairs.join(", ")));
  if (t.tx) c.append(el("div", "tx " + t.tx, "muted"));
  if (t.error) c.append(el("div", t.error, "why"));
  return c;
}

let objectivesRunning = false;

function showObjectives(o) {
  $("objectives").hidden = o === null;
  objectivesRunning = false;
  if (o === null || showError("objectives-error", "the intent server", o)) return;
  $("objectives-url").textContent = o.url;
  const list = $("objectives-list");
  list.replaceChildren();
  if (o.objectives.length === 0) list.append(el("p", "no objectives yet", "muted"));
  for (const x of o.objectives) {
    objectivesRunning ||= x.status === "running";
    const art = el("article");
    art.dataset.objective = x.id;
    const done = x.tasks.filter((t) => t.state === "done").length;
    const repairs = x.repairs === 1 ? "1 repair" : `${x.repairs} repairs`;
    let head = `${x.id}: ${x.status}${x.cancelled ? " (cancelled)" : ""}, ${done} of ${x.tasks.length} tasks done, ${x.paid} paid, ${repairs}`;
    if (x.started_at) head += `, started ${new Date(x.started_at).toLocaleString()}`;
    art.append(el("h3", head));
    if (x.error) art.append(el("p", "tasks not read: " + x.error, "bad"));
    const graph = el("div", undefined, "graph");
    for (const col of levels(x.tasks)) {
      const lv = el("div", undefined, "level");
      lv.append(...col.map(taskCard));
      graph.append(lv);
    }
    art.append(graph);
    list.append(art);
  }
}

// What the joined registry says of an opened gene: its quality there and
// its anchor's verdict on chain.
function registryFacts(r) {
  if (r === null || r === undefined) return [];
  if (r.error) return [["registry", "did not answer: " + r.error]];
  if (!r.known) return [["registry", "not shared there"]];
  return [["registry quality", r.quality.toFixed(3)], ["verified agents", r.verified_agents],
    ["registry pushes", r.pushes], ["anchor", r.anchor]];
}

// A gene opened: what it is, how it learned, the repairs it made.
async function openGene(path) {
  try {
    const d = await api(`/v1/genes/${path.split("/").map(encodeURIComponent).join("/")}`);
    const g = d.gene;
    $("gene-title").textContent = `Gene ${g.key.code}/${g.key.category} \u2192 ${g.strategy}`;
    facts($("gene-facts"), [["q", g.q.toFixed(3)], ["confidence", g.confidence.toFixed(2)],
      ["successes / failures", `${g.successes} / ${g.failures}`],
      ["platforms healed", (g.platforms || []).join(", ") || "-"], ["source", g.source],
      ["mean time", duration(g.mean_ms)], ["mean cost", usd(g.mean_cost)],
      ["last used", new Date(g.last_used_at).toLocaleString()], ...registryFacts(d.registry)]);
    const t = d.learned.map((p) => p.at / 1000);
    drawChart("chart-gene", "", t, [
      { label: "q", values: d.learned.map((p) => p.q), color: colors.info },
      { label: "confidence", values: d.learned.map((p) => p.confidence), color: colors.ok },
    ], { scales: { y: { range: [0, 1] } } });
    fillTable("gene-uses", d.uses, [
      (u) => [new Date(u.at).toLocaleString(), u.at], (u) => "#" + u.repair_id,
      (u) => (u.immune ? "yes" : "no"),
      (u) => (u.verified === null ? "unknown" : u.verified ? "yes" : "no"),
      (u) => (u.tx_hashes.length ? u.tx_hashes.join(" ") : "none"),
    ]);
    $("gene-detail").hidden = false;
    $("gene-detail").scrollIntoView({ block: "nearest" });
  } catch (e) {
    console.warn(e);
  }
}

// Many events a second must not become many requests: one refresh per
// quarter second at most.
let refreshTimer = null;
function refreshSoon() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); refreshSeries(false); }, 250);
}

// The network changes without this server's events: read it every 10 s,
// every 2 s while an objective runs (its tasks move on their own).
function pollNetwork() {
  let ticks = 0;
  setInterval(() => {
    ticks += 1;
    const joined = ["registry", "mesh", "objectives"].some((id) => !$(id).hidden);
    if (token && joined && (objectivesRunning || ticks % 5 === 0)) refreshNetwork();
  }, 2000);
}

function dispatch(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  if (name === "hello") {
    setStatus("live", "live"); refresh(); loadHistory(); refreshSeries(true); refreshNetwork();
  }
  else if (name === "pcec") show(JSON.parse(data.join("\n")));
  else if (name === "lagged") setStatus(`live (skipped ${data.join("")})`, "live");
}

// EventSource cannot send an Authorization header, so the stream is read
// with fetch.
async function stream() {
  try {
    const r = await fetch("/v1/events", { headers: { Authorization: "Bearer " + token } });
    if (r.status === 401) { askToken(); return; }
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        dispatch(buf.slice(0, i));
        buf = buf.slice(i + 2);
      }
    }
  } catch (e) {
    console.warn(e);
  }
  setStatus("reconnecting", "down");
  setTimeout(stream, 1000);
}

function askToken() {
  setStatus("token needed", "down");
  $("login").hidden = false;
}

function start() {
  pollNetwork();
  $("genes").tBodies[0].addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr");
    if (tr && tr.dataset.key) openGene(tr.dataset.key);
  });
  $("window").addEventListener("change", () => refreshSeries(true));
  window.addEventListener("resize", () => {
    for (const [id, c] of charts) c.setSize({ width: Math.max(200, $(id).clientWidth), height: 200 });
  });
  document.querySelectorAll("table[data-sortable]").forEach(makeSortable);
  $("older").addEventListener("click", loadHistory);
  new IntersectionObserver(entries => {
    if (entries.some(x => x.isIntersecting)) loadHistory();
  }).observe($("older"));
  $("login").addEventListener("submit", ev => {
    ev.preventDefault();
    token = $("token").value;
    sessionStorage.setItem("helix-token", token);
    $("login").hidden = true;
    stream();
  });
  token = readToken();
  if (token) stream(); else askToken();
}

document.addEventListener("DOMContentLoaded", start);
