/**
 * The live page (`GET /_/`) and its script (`GET /_/live.js`): plain HTML and JavaScript, no build, no CDN.
 * Recorded bodies come from whoever can reach the receiver, so the script only ever sets `textContent`, and the
 * page's Content-Security-Policy allows no script but this one.
 */

/** Content-Security-Policy of the live page. */
export const livePageCsp = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:";

/** The page. */
export const livePageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>predictor-runtime receiver</title>
<!-- An icon of its own, so the browser does not fetch /favicon.ico, which the receiver would record. -->
<link rel="icon" href="data:,">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f6f8fa; }
  header { display: flex; gap: 1rem; align-items: center; padding: .75rem 1rem; background: #24292f; color: #fff; }
  header h1 { font-size: 1rem; margin: 0; font-weight: 600; }
  #status { font-size: .8rem; padding: .1rem .5rem; border-radius: 1rem; background: #6e7781; }
  #status.live { background: #1a7f37; }
  header .spacer { flex: 1; }
  header button { font: inherit; padding: .2rem .8rem; cursor: pointer; }
  main { padding: 1rem; }
  table { width: 100%; border-collapse: collapse; background: #fff; }
  th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
  th { font-size: .75rem; text-transform: uppercase; color: #57606a; }
  td.path, pre { font-family: ui-monospace, monospace; }
  tr.delivery { cursor: pointer; }
  tr.delivery:hover { background: #f3f4f6; }
  .badge { display: inline-block; font-size: .75rem; padding: 0 .45rem; border-radius: .6rem; margin-right: .25rem; background: #d0d7de; }
  .badge.pass { background: #dafbe1; color: #116329; }
  .badge.fail { background: #ffebe9; color: #a40e26; }
  pre { margin: 0 0 .5rem; white-space: pre-wrap; word-break: break-all; font-size: .8rem; }
  pre.reasons { color: #a40e26; }
  tr.details td { background: #f6f8fa; }
  #empty { color: #57606a; padding: 1rem 0; }
</style>
</head>
<body>
<header>
  <h1>predictor-runtime receiver</h1>
  <span id="status">connecting</span>
  <span id="count" data-count="0">0 deliveries</span>
  <span class="spacer"></span>
  <a href="/_/har" style="color:#fff">HAR</a>
  <a href="/_/deliveries" style="color:#fff">JSON</a>
  <button id="clear" type="button">Clear</button>
</header>
<main>
  <table>
    <thead><tr><th>#</th><th>received</th><th>method</th><th>path</th><th>verdicts</th><th>answer</th></tr></thead>
    <tbody id="deliveries"></tbody>
  </table>
  <p id="empty">No deliveries yet. Send a request to any path outside /_/ and it appears here.</p>
</main>
<script src="/_/live.js"></script>
</body>
</html>
`;

/** The page's script. */
export const livePageScript = `"use strict";
const rows = document.getElementById("deliveries");
const statusBadge = document.getElementById("status");
const countLabel = document.getElementById("count");
const emptyNote = document.getElementById("empty");
let count = 0;

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function badge(name, verdict) {
  if (verdict === null || verdict === undefined) return null;
  const value = typeof verdict === "object" ? (verdict.authorized ? "pass" : "fail") : verdict;
  const label = typeof verdict === "object" && verdict.error ? name + ": " + verdict.error : name + ": " + value;
  return element("span", label, "badge " + value);
}

function answerOf(response) {
  const parts = [];
  if (response.fault) parts.push(response.fault);
  if (response.status !== null) parts.push(String(response.status));
  if (response.refused_by) parts.push("refused (" + response.refused_by + ")");
  if (response.delay_ms) parts.push("after " + response.delay_ms + " ms");
  return parts.join(" ");
}

function setCount(value) {
  count = value;
  countLabel.textContent = count + (count === 1 ? " delivery" : " deliveries");
  countLabel.dataset.count = String(count);
  emptyNote.hidden = count > 0;
}

function addDelivery(delivery) {
  const row = element("tr", undefined, "delivery");
  row.dataset.deliveryId = delivery.id;
  row.append(
    element("td", delivery.id),
    element("td", new Date(delivery.received_at).toLocaleTimeString()),
    element("td", delivery.method),
    element("td", delivery.url, "path"),
  );
  const verdicts = element("td", undefined, "verdicts");
  for (const node of [badge("basic", delivery.verdicts.basic), badge("signature", delivery.verdicts.signature), badge("tls", delivery.verdicts.tls)]) {
    if (node) verdicts.append(node);
  }
  row.append(verdicts, element("td", answerOf(delivery.response), "answer"));
  const details = element("tr", undefined, "details");
  details.hidden = true;
  const cell = element("td");
  cell.colSpan = 6;
  const body = typeof delivery.body === "string" ? delivery.body : JSON.stringify(delivery.body, null, 2);
  const reasons = Object.entries(delivery.verdict_reasons).map(([name, reason]) => name + " failed: " + reason);
  if (delivery.verdicts.tls && delivery.verdicts.tls.error) reasons.push("tls failed: " + delivery.verdicts.tls.error);
  if (reasons.length > 0) cell.append(element("pre", reasons.join("\\n"), "reasons"));
  cell.append(
    element("pre", Object.entries(delivery.headers).map(([name, value]) => name + ": " + value).join("\\n"), "headers"),
    element("pre", body, "body"),
  );
  details.append(cell);
  row.addEventListener("click", () => { details.hidden = !details.hidden; });
  rows.prepend(details);
  rows.prepend(row);
  setCount(count + 1);
}

function clearRows() {
  rows.replaceChildren();
  setCount(0);
}

const events = new EventSource("/_/events");
events.addEventListener("open", () => { statusBadge.textContent = "live"; statusBadge.className = "live"; });
events.addEventListener("error", () => { statusBadge.textContent = "reconnecting"; statusBadge.className = ""; });
events.addEventListener("snapshot", (event) => { clearRows(); for (const delivery of JSON.parse(event.data)) addDelivery(delivery); });
events.addEventListener("delivery", (event) => addDelivery(JSON.parse(event.data)));
events.addEventListener("cleared", () => clearRows());
document.getElementById("clear").addEventListener("click", () => { fetch("/_/deliveries", { method: "DELETE" }); });
`;
