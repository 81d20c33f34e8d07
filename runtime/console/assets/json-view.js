// Pretty JSON as DOM nodes. Every piece of data goes in through textContent, never innerHTML: payloads and
// results are user data, and a string holding <script> or <img onerror> must show as text.
"use strict";
(function () {
  /** Strings longer than this show their start and a button for the rest. */
  const LONG_STRING = 240;
  /** Objects and arrays with more members than this, or nested deeper, start folded. */
  const MANY_MEMBERS = 25;
  const OPEN_DEPTH = 3;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function scalar(value) {
    if (typeof value === "string") {
      const quoted = JSON.stringify(value);
      if (quoted.length <= LONG_STRING) return el("span", "string", quoted);
      const span = el("span", "string", quoted.slice(0, LONG_STRING) + "…");
      const more = el("button", "more", `show all ${quoted.length} chars`);
      more.type = "button";
      more.addEventListener("click", () => {
        span.textContent = quoted;
        more.remove();
      });
      const wrap = el("span");
      wrap.append(span, more);
      return wrap;
    }
    if (typeof value === "number") return el("span", "number", String(value));
    return el("span", "literal", String(value));
  }

  /** `key`: the member's name (objects), shown before the value, folded or not. */
  function render(value, depth, trailingComma, key) {
    const comma = trailingComma ? "," : "";
    const label = key === undefined ? [] : [el("span", "key", JSON.stringify(key) + ": ")];
    if (value === null || typeof value !== "object") {
      const line = el("div");
      line.append(...label, scalar(value), comma);
      return line;
    }
    const isArray = Array.isArray(value);
    const keys = isArray ? value.map((_, index) => index) : Object.keys(value);
    const [open, close] = isArray ? ["[", "]"] : ["{", "}"];
    if (keys.length === 0) {
      const line = el("div");
      line.append(...label, open + close + comma);
      return line;
    }
    const details = el("details");
    details.open = depth < OPEN_DEPTH && keys.length <= MANY_MEMBERS;
    const summary = el("summary");
    summary.append(...label, `${open} ${keys.length} ${isArray ? (keys.length === 1 ? "item" : "items") : keys.length === 1 ? "key" : "keys"}`);
    details.append(summary);
    keys.forEach((member, index) => {
      details.append(render(value[member], depth + 1, index < keys.length - 1, isArray ? undefined : String(member)));
    });
    details.append(el("div", "", close + comma));
    return details;
  }

  window.JsonView = {
    /** A node showing `value` as pretty JSON, large parts folded. */
    render(value) {
      const root = el("div", "json-root");
      root.append(render(value, 0, false, undefined));
      return root;
    },
  };
})();
