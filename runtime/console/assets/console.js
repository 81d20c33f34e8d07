// The console page: polls /console/api/ and renders with textContent only (payloads, ids and errors are data).
// Actions call the runtime's own routes, the ones the CLI uses: DELETE /NAME/ID, POST /NAME/ID/redeliver and
// POST /NAME/redeliver-failed.
"use strict";
(function () {
  const POLL_MS = 2000;
  const ACTIVITY_EVERY = 5; // polls
  /** Redeliver-all covers every finally-failed report still kept (finished tasks are kept 7 days). */
  const KEPT_MS = 7 * 24 * 60 * 60 * 1000;

  const $ = (id) => document.getElementById(id);
  const state = {
    key: sessionStorage.getItem("predictor-runtime-console-key") || "",
    apis: [],
    selected: new URLSearchParams(location.hash.slice(1)).get("task") || "",
    polls: 0,
    activity: new Map(),
    confirming: "",
    /** What the last redeliver-all of each API did, shown on its card. */
    notes: new Map(),
  };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function pad(n, width = 2) {
    return String(n).padStart(width, "0");
  }

  /** Local date and time, to the millisecond: a timeline needs both. */
  function when(ms) {
    if (ms === undefined || ms === null) return "";
    const d = new Date(ms);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }

  function showError(message) {
    const box = $("error");
    box.textContent = message;
    box.hidden = message === "";
  }

  class HttpError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** fetch with the admin key (when one was given); JSON in, JSON out; a refusal throws its error message. */
  async function call(path, init = {}) {
    const headers = Object.assign({ accept: "application/json" }, init.headers || {});
    if (state.key) headers.authorization = `Bearer ${state.key}`;
    const response = await fetch(path, Object.assign({}, init, { headers }));
    const text = await response.text();
    let body;
    try {
      body = text === "" ? {} : JSON.parse(text);
    } catch {
      body = { error: text.slice(0, 200) };
    }
    if (response.status === 401 && path.startsWith("console/api/")) {
      $("key-form").hidden = false;
      throw new HttpError(401, body.error || "the console needs the admin key");
    }
    if (!response.ok) throw new HttpError(response.status, body.error || `${response.status} ${response.statusText}`);
    return body;
  }

  function statusBadge(status) {
    return el("span", `status ${status}`, status);
  }

  // ---- APIs: counts, chart, redeliver-all ----

  function countsGrid(api) {
    const grid = el("div", "counts");
    const cells = [
      ["queued", api.tasks.in_queue],
      ["running", api.tasks.in_progress],
      ["completed", api.tasks.completed],
      ["failed", api.tasks.failed],
      ["cancelled", api.tasks.cancelled],
    ];
    if (api.webhook) cells.push(["reports pending", api.reports.pending], ["delivered", api.reports.delivered], ["finally failed", api.reports.failed]);
    for (const [label, n] of cells) {
      const cell = el("div");
      cell.dataset.count = label;
      cell.append(el("div", "n", n), el("div", "label", label));
      grid.append(cell);
    }
    return grid;
  }

  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attributes) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    return node;
  }

  /** Tasks finished per minute as bars, p50 and p99 submit-to-report latency as lines (own scale). */
  function chart(activity) {
    const box = el("div", "chart");
    if (!activity) return box;
    const width = 320;
    const height = 64;
    const buckets = activity.buckets;
    const slot = width / buckets.length;
    const maxFinished = Math.max(1, ...buckets.map((b) => b.finished));
    const maxLatency = Math.max(1, ...buckets.map((b) => b.p99_latency_ms || 0));
    const picture = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "tasks finished per minute and report latency" });
    picture.append(svg("rect", { x: 0, y: 0, width, height, fill: "#f8f9fb" }));
    buckets.forEach((b, i) => {
      const h = (b.finished / maxFinished) * (height - 4);
      const bar = svg("rect", { x: i * slot + 1, y: height - h, width: slot - 2, height: h, fill: "#a9c1ec" });
      const title = svg("title", {});
      title.textContent = `${when(b.start).slice(11, 16)}: ${b.finished} finished, ${b.delivered} delivered` + (b.p50_latency_ms === undefined ? "" : `, p50 ${b.p50_latency_ms} ms, p99 ${b.p99_latency_ms} ms`);
      bar.append(title);
      picture.append(bar);
    });
    for (const [field, color] of [["p50_latency_ms", "#2b9a5b"], ["p99_latency_ms", "#d0662b"]]) {
      const points = buckets
        .map((b, i) => (b[field] === undefined ? null : `${(i + 0.5) * slot},${height - 2 - (b[field] / maxLatency) * (height - 6)}`))
        .filter((p) => p !== null);
      if (points.length > 0) picture.append(svg("polyline", { points: points.join(" "), fill: "none", stroke: color, "stroke-width": 1.5 }));
    }
    const lastFull = buckets[buckets.length - 2] || buckets[0];
    const legend = el("div", "legend");
    legend.append(
      el("span", "bar", `■ finished/min (last full minute ${lastFull ? lastFull.finished : 0}, max ${maxFinished})`),
      " ",
      el("span", "p50", "— p50"),
      " ",
      el("span", "p99", `— p99 submit-to-report (max ${maxLatency} ms)`),
      " · last 15 min",
    );
    box.append(picture, legend);
    return box;
  }

  function redeliverAll(api) {
    const actions = el("div", "actions");
    if (!api.webhook) return actions;
    const failed = api.reports.failed;
    if (state.confirming === api.name) {
      const confirm = el("span", "confirm", `Redeliver ${failed} finally-failed report${failed === 1 ? "" : "s"} of ${api.name}?`);
      const yes = el("button", "danger", "Redeliver all");
      yes.type = "button";
      yes.dataset.action = "confirm-redeliver-all";
      const no = el("button", "", "Keep");
      no.type = "button";
      no.addEventListener("click", () => {
        state.confirming = "";
        refreshOverview();
      });
      yes.addEventListener("click", async () => {
        yes.disabled = true;
        try {
          // Pinned once, so every page of the same job covers the same window; each page redelivers up to 1000.
          const since = new Date(Date.now() - KEPT_MS).toISOString();
          let redelivered = 0;
          for (let page = 0; page < 1000; page++) {
            const answer = await call(`${encodeURIComponent(api.name)}/redeliver-failed?since=${encodeURIComponent(since)}&limit=1000`, { method: "POST" });
            redelivered += answer.redelivered;
            if (!answer.more) break;
          }
          state.notes.set(api.name, `redelivered ${redelivered} report${redelivered === 1 ? "" : "s"}`);
          showError("");
        } catch (error) {
          showError(`redeliver all of ${api.name}: ${error.message}`);
        }
        state.confirming = "";
        refreshAll();
      });
      actions.append(confirm, yes, no);
      return actions;
    }
    const button = el("button", "", `Redeliver finally-failed (${failed})`);
    button.type = "button";
    button.dataset.action = "redeliver-all";
    button.disabled = failed === 0;
    button.addEventListener("click", () => {
      state.confirming = api.name;
      state.notes.delete(api.name);
      refreshOverview();
    });
    actions.append(button);
    if (state.notes.has(api.name)) actions.append(el("span", "muted note", state.notes.get(api.name)));
    return actions;
  }

  function renderApis() {
    const box = $("apis");
    const cards = state.apis.map((api) => {
      const card = el("div", "card");
      card.dataset.api = api.name;
      const title = el("h3", "", api.name);
      title.append(" ", el("span", "muted", api.kind));
      card.append(title, countsGrid(api));
      if (api.kind === "AsyncAPI") card.append(chart(state.activity.get(api.name)));
      card.append(redeliverAll(api));
      return card;
    });
    box.replaceChildren(...cards);
    const select = $("filter-api");
    const chosen = select.value;
    const options = [el("option", "", "all")];
    options[0].value = "";
    for (const api of state.apis) options.push(el("option", "", api.name));
    select.replaceChildren(...options);
    select.value = chosen;
  }

  async function refreshOverview() {
    const overview = await call("console/api/overview");
    $("engine").textContent = `engine: ${overview.engine}`;
    $("window-note").textContent = `Queued, running and pending are exact; completed, failed, cancelled, delivered and finally failed count the newest ${overview.finished_window.toLocaleString("en")} finished tasks.`;
    state.apis = overview.apis;
    if (state.polls % ACTIVITY_EVERY === 0) {
      await Promise.all(
        state.apis
          .filter((api) => api.kind === "AsyncAPI")
          .map(async (api) => state.activity.set(api.name, await call(`console/api/activity?api=${encodeURIComponent(api.name)}`))),
      );
    }
    renderApis();
  }

  // ---- Task list ----

  function taskQuery() {
    const params = new URLSearchParams();
    for (const [id, name] of [["filter-api", "api"], ["filter-status", "status"], ["filter-webhook", "webhook_status"], ["filter-id", "id"]]) {
      const value = $(id).value.trim();
      if (value !== "") params.set(name, value);
    }
    params.set("limit", "100");
    return params.toString();
  }

  async function refreshTasks() {
    const { tasks } = await call(`console/api/tasks?${taskQuery()}`);
    const rows = tasks.map((task) => {
      const row = el("tr");
      row.dataset.taskId = task.id;
      if (task.id === state.selected) row.className = "selected";
      const id = el("td");
      id.append(el("code", "", task.id));
      const status = el("td");
      status.append(statusBadge(task.status));
      const webhook = el("td");
      if (task.webhook) webhook.append(statusBadge(task.webhook.status));
      row.append(id, el("td", "", task.api), status, webhook, el("td", "", task.webhook ? task.webhook.attempts : ""), el("td", "", when(task.created_at)), el("td", "", when(task.finished_at)));
      row.addEventListener("click", () => select(task.id));
      return row;
    });
    $("tasks").tBodies[0].replaceChildren(...rows);
    $("tasks-empty").hidden = rows.length > 0;
  }

  // ---- Task view ----

  function select(id) {
    state.selected = id;
    history.replaceState(null, "", id ? `#task=${encodeURIComponent(id)}` : location.pathname + location.search);
    $("task-action-result").textContent = "";
    refreshTask();
    for (const row of $("tasks").tBodies[0].rows) row.classList.toggle("selected", row.dataset.taskId === id);
  }

  function field(list, name, value) {
    if (value === undefined || value === null || value === "") return;
    list.append(el("dt", "", name));
    const dd = el("dd");
    if (value instanceof Node) dd.append(value);
    else dd.textContent = String(value);
    list.append(dd);
  }

  function jsonOrPreview(task, name) {
    if (task[name] !== undefined) return JsonView.render(task[name]);
    if (task[`${name}_preview`] !== undefined) {
      const box = el("div");
      box.append(el("p", "muted", `${task[`${name}_chars`]} characters: too large to show whole; its first ${task[`${name}_preview`].length} as text:`), el("pre", "", task[`${name}_preview`]));
      return box;
    }
    return el("span", "muted", "none");
  }

  async function act(label, path, method) {
    const result = $("task-action-result");
    result.textContent = `${label}…`;
    try {
      const answer = await call(path, { method });
      result.textContent = `${label}: done${answer && answer.status ? ` (${answer.status})` : ""}`;
    } catch (error) {
      result.textContent = `${label} refused: ${error.message}`;
    }
    refreshAll();
  }

  function actionButton(label, action, run) {
    const button = el("button", action === "cancel" ? "danger" : "", label);
    button.type = "button";
    button.dataset.action = action;
    button.addEventListener("click", run);
    return button;
  }

  function renderTask(task) {
    $("task-id").textContent = task.id;
    const path = `${encodeURIComponent(task.api)}/${encodeURIComponent(task.id)}`;
    const actions = [];
    if (task.status === "in_queue" || task.status === "in_progress") actions.push(actionButton("Cancel", "cancel", () => act("Cancel", path, "DELETE")));
    if (task.webhook && task.webhook.status !== "pending" && task.webhook.status !== "skipped") actions.push(actionButton("Redeliver report", "redeliver", () => act("Redeliver", `${path}/redeliver`, "POST")));
    $("task-actions").replaceChildren(...actions);

    const list = $("task-fields");
    list.replaceChildren();
    field(list, "API", `${task.api} (${task.format} format)`);
    field(list, "Status", statusBadge(task.status));
    field(list, "Created", when(task.created_at));
    field(list, "Started", when(task.started_at));
    field(list, "Finished", when(task.finished_at));
    field(list, "Idempotency key", task.idempotency_key);
    field(list, "Report to", task.callback_url);
    field(list, "Report auth", task.callback_auth);
    if (task.webhook) {
      const webhook = el("span");
      webhook.append(statusBadge(task.webhook.status), ` after ${task.webhook.attempts} attempt${task.webhook.attempts === 1 ? "" : "s"}`);
      if (task.webhook.last_status_code !== undefined) webhook.append(`, last answer ${task.webhook.last_status_code}`);
      field(list, "Webhook", webhook);
      field(list, "Last error", task.webhook.last_error);
    }

    const rows = task.attempts.map((attempt) => {
      const row = el("tr");
      const outcome = el("td");
      outcome.append(statusBadge(attempt.outcome === "delivered" ? "delivered" : attempt.outcome === "retryable" || attempt.outcome === "timeout" ? "pending" : "failed"));
      outcome.firstChild.textContent = attempt.outcome;
      row.append(
        el("td", "", attempt.attempt),
        el("td", "", when(attempt.started_at)),
        el("td", "", attempt.origin),
        outcome,
        el("td", "", attempt.status_code === undefined ? "" : attempt.status_code),
        el("td", "", `${attempt.duration_ms} ms`),
        el("td", "", attempt.error || ""),
        el("td", "", when(attempt.next_attempt_at)),
      );
      return row;
    });
    $("attempts").tBodies[0].replaceChildren(...rows);
    $("attempts-empty").hidden = rows.length > 0;

    $("task-payload").replaceChildren(jsonOrPreview(task, "payload"));
    const outcomeTitle = $("task-outcome-title");
    if (task.status === "failed") {
      outcomeTitle.textContent = "Error";
      const box = el("div");
      box.append(el("div", "", task.error));
      if (task.traceback) box.append(el("pre", "", task.traceback));
      $("task-outcome").replaceChildren(box);
    } else {
      outcomeTitle.textContent = "Result";
      $("task-outcome").replaceChildren(jsonOrPreview(task, "result"));
    }
    $("task-view").hidden = false;
  }

  /** Folded parts of the JSON views stay as the user left them: the payload is only redrawn for another task. */
  let rendered = "";
  async function refreshTask() {
    if (!state.selected) {
      $("task-view").hidden = true;
      return;
    }
    try {
      const task = await call(`console/api/tasks/${encodeURIComponent(state.selected)}`);
      const fingerprint = JSON.stringify([task.id, task.status, task.webhook, task.attempts.length]);
      if (fingerprint !== rendered) {
        rendered = fingerprint;
        renderTask(task);
      }
    } catch (error) {
      if (error.status === 404) {
        $("task-view").hidden = true;
        showError(error.message);
      } else throw error;
    }
  }

  // ---- Polling ----

  let running = false;
  async function refreshAll() {
    if (running) return;
    running = true;
    try {
      await refreshOverview();
      await refreshTasks();
      await refreshTask();
      showError("");
      $("live").textContent = `live · updated ${when(Date.now()).slice(11, 19)}`;
    } catch (error) {
      showError(error.message);
    } finally {
      running = false;
      state.polls++;
    }
  }

  $("filters").addEventListener("input", () => refreshTasks().catch((error) => showError(error.message)));
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  $("task-close").addEventListener("click", () => select(""));
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.key = $("key-input").value.trim();
    $("key-input").value = "";
    sessionStorage.setItem("predictor-runtime-console-key", state.key);
    $("key-form").hidden = true;
    state.polls = 0;
    refreshAll();
  });

  refreshAll();
  setInterval(refreshAll, POLL_MS);
})();
