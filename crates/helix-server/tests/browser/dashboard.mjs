// Drives the dashboard in headless Chromium (Debian's, through
// playwright-core): loads the page with the token, triggers a repair
// through the API, and waits to see it on the page, then its gene.
// Usage: node dashboard.mjs <base-url> <token> <screenshot.png>
// Env: HELIX_PLAYWRIGHT (playwright-core dir), HELIX_CHROMIUM (browser).
import { createRequire } from "node:module";

const [base, token, shot] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const { chromium } = require(process.env.HELIX_PLAYWRIGHT);

function fail(why) {
  console.error("dashboard test: " + why);
  process.exit(1);
}

const browser = await chromium.launch({
  executablePath: process.env.HELIX_CHROMIUM || "/usr/bin/chromium",
  // Without the networking flags Chromium keeps dialling Google's hosts,
  // which this closed network refuses.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await (await browser.newContext()).newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${base}/#token=${token}`);
  await page.waitForSelector("#status.live", { timeout: 15000 });

  const r = await fetch(`${base}/v1/repair`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({
      signal: { message: "429 Too Many Requests", http_status: 429, platform: "http", retry_after: 30 },
      payment: { recipient: "0x00000000000000000000000000000000000000b0", amount: 1000000 },
    }),
  });
  const advice = await r.json();
  if (!advice.committed) fail("no repair committed: " + JSON.stringify(advice));
  const id = advice.repair_id;

  await page.waitForSelector(`#events li[data-repair-id="${id}"].committed`, { timeout: 10000 });
  await fetch(`${base}/v1/repair/${id}/outcome`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ success: true }),
  });
  await page.waitForSelector(`#events li[data-repair-id="${id}"].verified`, { timeout: 10000 });
  await page.waitForFunction(
    () => [...document.querySelectorAll("#genes tbody tr")].some((tr) => tr.textContent.includes("backoff")),
    null, { timeout: 10000 });
  await page.waitForFunction(
    () => [...document.querySelectorAll("#results tbody tr")].some((tr) => tr.textContent.startsWith("rate-limited/throttle")),
    null, { timeout: 10000 });
  await page.screenshot({ path: shot, fullPage: true });

  // An operator who opens the page after the repair sees it, from the log.
  const later = await (await browser.newContext()).newPage();
  later.on("pageerror", (e) => errors.push(String(e)));
  const networkReads = [];
  later.on("request", (r) => { if (r.url().endsWith("/v1/network")) networkReads.push(Date.now()); });
  await later.goto(`${base}/#token=${token}`);
  await later.waitForSelector(`#events li[data-repair-id="${id}"].verified`, { timeout: 10000 });
  await later.waitForSelector(`#events li[data-repair-id="${id}"].perceived`, { timeout: 10000 });
  const order = await later.$$eval("#events li", (lis) => lis.map((li) => li.className));
  if (order.indexOf("verified") > order.lastIndexOf("perceived")) fail("the log is not newest first: " + order.join(","));

  // Each chart drew points from the log (not an empty canvas).
  for (const id of ["chart-repairs", "chart-immune", "chart-latency", "chart-budget"]) {
    await later.waitForFunction((id) => Number(document.getElementById(id).dataset.points || 0) > 0,
      id, { timeout: 10000 });
    if (!(await later.locator(`#${id} canvas`).count())) fail(`${id} has no canvas`);
  }
  const verifiedSeen = await later.evaluate(async (token) => {
    const r = await fetch("/v1/series?window=hour", { headers: { Authorization: "Bearer " + token } });
    return (await r.json()).series.verified.reduce((a, b) => a + b, 0);
  }, token);
  if (verifiedSeen < 1) fail("the series lost the verified repair");

  // The network's view: the joined registry, with a refusal and its reason.
  await later.waitForSelector("#registry:not([hidden]) #registry-refusals tbody tr", { timeout: 10000 });
  const refusal = await later.textContent("#registry-refusals tbody");
  if (!refusal.includes("signature") || !refusal.includes("not the agent")) fail("registry refusal not shown: " + refusal);
  if (!(await later.textContent("#registry-top tbody")).includes("1.234")) fail("registry top genes not shown");

  // The mesh: connected agents per node, a node that is down said so, a
  // saga in flight with each step's payment and refund.
  await later.waitForSelector("#mesh:not([hidden]) #mesh-agents tbody tr", { timeout: 10000 });
  if ((await later.locator("#mesh-agents tbody tr").count()) !== 2) fail("not two connected agents");
  if (!(await later.textContent("#mesh-agents tbody")).includes("0x" + "a1".repeat(20))) fail("agent address not shown");
  if (!(await later.textContent("#mesh-nodes-error")).includes("mesh-2.test")) fail("the node that is down is not said");
  const saga = await later.textContent('#mesh-sagas article[data-saga="saga-7"]');
  for (const want of ["compensating (in flight)", "step 2 failed", "done 0xpaid1", "sent 0xrefund1", "1.5"]) {
    if (!saga.includes(want)) fail(`saga view lacks ${want}: ${saga}`);
  }

  // Objectives: the task graph, a column per depth, each task's state.
  await later.waitForSelector('#objectives:not([hidden]) .task[data-task="pay-alice"][data-state="done"]', { timeout: 10000 });
  const columns = await later.$$eval('article[data-objective="payroll-december"] .level',
    (ls) => ls.map((l) => [...l.querySelectorAll(".task")].map((t) => `${t.dataset.task}:${t.dataset.state}`).join(" ")));
  if (JSON.stringify(columns) !== JSON.stringify(["check:done pay-alice:done", "pay-bob:failed", "tell:blocked"])) {
    fail("task graph drawn wrong: " + JSON.stringify(columns));
  }
  if (!(await later.textContent('.task[data-task="pay-alice"]')).includes("0xalicetx")) fail("a done task's transaction not shown");
  // Live: while an objective runs, the page reads the network every 2 s.
  const before = networkReads.length;
  await later.waitForTimeout(4500);
  if (networkReads.length - before < 2) fail(`objective states not refreshed while running: ${networkReads.length - before} reads in 4.5 s`);

  // Markup from a service (a saga's reason, a task's error) is text.
  if ((await later.locator("#mesh img, #objectives img").count()) !== 0) fail("markup from a service became elements");
  if (!(await later.textContent('.task[data-task="pay-bob"]')).includes("<img src=x")) fail("a task's error not shown as text");
  if (await later.evaluate(() => window.__pwned)) fail("a service's markup ran");

  // A gene opens to its history and its repairs.
  await later.click("#genes tbody tr");
  await later.waitForSelector("#gene-detail:not([hidden])", { timeout: 10000 });
  await later.waitForFunction(() => Number(document.getElementById("chart-gene").dataset.points || 0) > 0,
    null, { timeout: 10000 });
  const uses = await later.textContent("#gene-uses tbody");
  if (!uses.includes(`#${id}`)) fail("the gene's repair is not in its detail: " + uses);
  if (!(await later.textContent("#gene-title")).includes("backoff")) fail("wrong gene opened");
  const geneFacts = await later.textContent("#gene-facts");
  if (!geneFacts.includes("0.875") || !geneFacts.includes("valid: backoff anchored")) fail("the registry's quality and anchor not in the gene's detail: " + geneFacts);

  // Tables sort by a header's button; the order is announced.
  await later.waitForSelector("#genes tbody tr", { timeout: 10000 });
  await later.click("#genes thead th:nth-child(3) button");
  if ((await later.getAttribute("#genes thead th:nth-child(3)", "aria-sort")) !== "descending") fail("q did not sort");
  await later.click("#genes thead th:nth-child(3) button");
  if ((await later.getAttribute("#genes thead th:nth-child(3)", "aria-sort")) !== "ascending") fail("q did not sort back");
  const cost = await later.textContent("#genes tbody tr td:nth-child(8)");
  if (!/^(\$\d+\.\d\d|< \$0\.01)$/.test(cost.trim())) fail("cost not in USD with cents: " + cost);

  // A phone: nothing wider than the screen; dark when the system is dark.
  const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: "dark" })).newPage();
  phone.on("pageerror", (e) => errors.push(String(e)));
  await phone.goto(`${base}/#token=${token}`);
  await phone.waitForSelector("#genes tbody tr", { timeout: 10000 });
  await phone.waitForSelector(`#events li[data-repair-id="${id}"].verified`, { timeout: 10000 });
  await phone.waitForSelector('#objectives:not([hidden]) .task[data-task="tell"]', { timeout: 10000 });
  await phone.waitForSelector("#mesh:not([hidden]) #mesh-sagas article", { timeout: 10000 });
  const widths = await phone.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  if (widths[0] > widths[1]) fail(`sideways scroll at 390 px: document ${widths[0]} > viewport ${widths[1]}`);
  const bg = await phone.evaluate(() => getComputedStyle(document.body).backgroundColor);
  if (bg !== "rgb(18, 21, 28)") fail("no dark theme for a dark system: " + bg);
  const phoneShot = shot.replace(/\.png$/, "-390.png");
  await phone.screenshot({ path: phoneShot, fullPage: true });
  const wide = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
  await wide.goto(`${base}/#token=${token}`);
  await wide.waitForSelector("#genes tbody tr", { timeout: 10000 });
  await wide.waitForSelector('#objectives:not([hidden]) .task[data-task="tell"]', { timeout: 10000 });
  const wideWidths = await wide.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  if (wideWidths[0] > wideWidths[1]) fail(`sideways scroll at 1280 px: ${wideWidths}`);
  const wideShot = shot.replace(/\.png$/, "-1280.png");
  await wide.screenshot({ path: wideShot, fullPage: true });

  // Now that a gene exists: a wrong token gets the login form, not data
  // (HELIX_STRANGER_TOKEN lets a run hand the stranger another token, to
  // see this check fail).
  const stranger = await (await browser.newContext()).newPage();
  await stranger.goto(`${base}/#token=${process.env.HELIX_STRANGER_TOKEN || "not-the-token-at-all"}`);
  await stranger.waitForTimeout(2000);
  if ((await stranger.locator("#genes tbody tr").count()) !== 0) fail("genes shown without a valid token");
  for (const secret of ["rate-limited", "payroll-december", "saga-7", "a1a1a1"]) {
    if ((await stranger.content()).includes(secret)) fail(`data shown without a valid token: ${secret}`);
  }
  if (!(await stranger.locator("#login:not([hidden])").count())) fail("no login form for a wrong token");
  if (errors.length) fail("page errors: " + errors.join("; "));
  console.log(JSON.stringify({ ok: true, repair_id: id, screenshots: [shot, shot.replace(/\.png$/, "-390.png"), shot.replace(/\.png$/, "-1280.png")] }));
} finally {
  await browser.close();
}
