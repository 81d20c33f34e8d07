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
  .section h4 { margin: .6rem 0 .2rem; font-size: .8rem; text-transform: uppercase; color: #57606a; }
  .verdict.fail { color: #a40e26; }
  .verdict.pass { color: #116329; }
  .tools { display: flex; gap: .5rem; align-items: center; margin-bottom: .3rem; }
  .tools input { flex: 1; max-width: 32rem; font: inherit; }
  .copied { color: #57606a; font-size: .8rem; }
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

/** Date and time, local: a list kept over days needs both. */
function dateTime(iso) {
  const d = new Date(iso);
  const two = (n) => String(n).padStart(2, "0");
  return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
}

/** Headers whose values are credentials: shown masked until asked for. */
const SECRET_HEADERS = new Set(["authorization", "proxy-authorization"]);

function masked(value) {
  const space = value.indexOf(" ");
  const scheme = space > 0 ? value.slice(0, space + 1) : "";
  return scheme + "\\u2022".repeat(8) + " (" + (value.length - scheme.length) + " chars hidden)";
}

function section(title, ...nodes) {
  const box = element("div", undefined, "section");
  box.append(element("h4", title), ...nodes);
  return box;
}

function bodyText(delivery) {
  if (delivery.raw_body_encoding === "base64") return "(not UTF-8; base64) " + delivery.raw_body;
  if (delivery.raw_body === "") return "(empty)";
  try {
    return JSON.stringify(JSON.parse(delivery.raw_body), null, 2);
  } catch {
    return delivery.raw_body;
  }
}

/** A shell word in single quotes, safe to paste. */
function shellQuote(text) {
  return "'" + String(text).replace(/'/g, "'\\\\''") + "'";
}

function curlOf(delivery, showSecrets) {
  const base = location.protocol + "//" + location.host;
  const parts = ["curl", "-X", delivery.method, shellQuote(base + delivery.url)];
  for (const [name, value] of Object.entries(delivery.headers)) {
    if (name === "host" || name === "content-length" || name === "connection") continue;
    parts.push("-H", shellQuote(name + ": " + (SECRET_HEADERS.has(name) && !showSecrets ? "REDACTED" : value)));
  }
  if (delivery.raw_body !== "") {
    if (delivery.raw_body_encoding === "base64") return "printf %s " + shellQuote(delivery.raw_body) + " | base64 -d | " + parts.join(" ") + " --data-binary @-";
    parts.push("--data-binary", shellQuote(delivery.raw_body));
  }
  return parts.join(" ");
}

function verdictLines(delivery) {
  const lines = [];
  const reasons = delivery.verdict_reasons || {};
  for (const name of ["basic", "signature"]) {
    const verdict = delivery.verdicts[name];
    if (verdict === null || verdict === undefined) continue;
    lines.push(element("div", name + ": " + verdict + (verdict === "fail" && reasons[name] ? " \\u2014 " + reasons[name] : ""), "verdict " + verdict));
  }
  const tls = delivery.verdicts.tls;
  if (tls) {
    const verdict = tls.authorized ? "pass" : "fail";
    const about = [tls.error, tls.subject ? "certificate " + tls.subject : ""].filter(Boolean).join("; ");
    lines.push(element("div", "tls: " + verdict + (about ? " \\u2014 " + about : ""), "verdict " + verdict));
  }
  if (lines.length === 0) lines.push(element("div", "nothing checked (start the receiver with --basic, --secret or --mtls)", "verdict"));
  return lines;
}

function answerDetail(response) {
  const lines = [];
  let summary = response.status === null ? "no answer (" + response.fault + ")" : "answered " + response.status;
  if (response.fault && response.status !== null) summary += " with fault " + response.fault;
  if (response.refused_by) summary += ", refused by the " + response.refused_by + " check";
  else summary += response.rule === null ? ", the default answer" : ", by rule " + response.rule;
  if (response.delay_ms) summary += ", after " + response.delay_ms + " ms";
  lines.push(element("div", summary, "answer-summary"));
  const headers = Object.entries(response.headers || {}).map(([name, value]) => name + ": " + value).join("\\n");
  if (headers) lines.push(element("pre", headers, "answer-headers"));
  if (response.body) lines.push(element("pre", response.body, "answer-body"));
  return lines;
}

function headerLines(delivery, pre, reveal) {
  pre.replaceChildren();
  let hidden = false;
  for (const [name, value] of Object.entries(delivery.headers)) {
    const secret = SECRET_HEADERS.has(name) && !reveal.dataset.shown;
    hidden = hidden || SECRET_HEADERS.has(name);
    pre.append(name + ": " + (secret ? masked(value) : value) + "\\n");
  }
  reveal.hidden = !hidden;
  reveal.textContent = reveal.dataset.shown ? "Hide Authorization" : "Show Authorization";
}

function button(label, className) {
  const node = element("button", label, className);
  node.type = "button";
  node.addEventListener("click", (event) => event.stopPropagation());
  return node;
}

/** The detail of one delivery: verdicts with reasons, the answer given, headers (credentials masked), body, tools. */
function deliveryDetail(delivery) {
  const headers = element("pre", undefined, "headers");
  const reveal = button("Show Authorization", "reveal");
  reveal.addEventListener("click", () => {
    if (reveal.dataset.shown) delete reveal.dataset.shown;
    else reveal.dataset.shown = "1";
    headerLines(delivery, headers, reveal);
  });
  headerLines(delivery, headers, reveal);

  const curl = element("pre", curlOf(delivery, false), "curl");
  const copy = button("Copy as curl", "copy-curl");
  const copied = element("span", "", "copied");
  copy.addEventListener("click", async () => {
    const text = curlOf(delivery, Boolean(reveal.dataset.shown));
    try {
      await navigator.clipboard.writeText(text);
      copied.textContent = reveal.dataset.shown ? "copied" : "copied (Authorization as REDACTED; show it first to copy it)";
    } catch {
      copied.textContent = "the browser refused the clipboard: select the command below";
    }
  });

  const target = element("input", undefined, "resend-url");
  target.type = "url";
  target.placeholder = "http://127.0.0.1:8080" + delivery.path;
  target.addEventListener("click", (event) => event.stopPropagation());
  const resend = button("Resend", "resend");
  const result = element("pre", "", "resend-result");
  resend.addEventListener("click", async () => {
    result.textContent = "sending\\u2026";
    try {
      const answer = await fetch("/_/resend", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id: delivery.id, url: target.value }) });
      const body = await answer.json();
      if (!answer.ok) result.textContent = "refused: " + body.error;
      else if (body.error) result.textContent = "failed after " + body.duration_ms + " ms: " + body.error;
      else result.textContent = body.status + " after " + body.duration_ms + " ms\\n" + Object.entries(body.headers).map(([name, value]) => name + ": " + value).join("\\n") + "\\n\\n" + body.body;
    } catch (error) {
      result.textContent = "failed: " + error.message;
    }
  });
  const resendRow = element("div", undefined, "tools");
  resendRow.append(target, resend);
  const curlRow = element("div", undefined, "tools");
  curlRow.append(copy, copied);

  const headerTools = element("div", undefined, "tools");
  headerTools.append(reveal);
  return [
    section("Verdicts", ...verdictLines(delivery)),
    section("Answer", ...answerDetail(delivery.response)),
    section("Headers", headerTools, headers),
    section("Body" + (delivery.body_truncated ? " (truncated: " + delivery.body_bytes + " bytes received)" : ""), element("pre", bodyText(delivery), "body")),
    section("Copy as curl", curlRow, curl),
    section("Resend to another URL (loopback, or a prefix given with --allow-resend)", resendRow, result),
  ];
}

function addDelivery(delivery) {
  const row = element("tr", undefined, "delivery");
  row.dataset.deliveryId = delivery.id;
  row.append(
    element("td", delivery.id),
    element("td", dateTime(delivery.received_at), "received"),
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
  cell.append(...deliveryDetail(delivery));
  details.append(cell);
  row.addEventListener("click", () => { details.hidden = !details.hidden; });
  details.dataset.detailOf = delivery.id;
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
