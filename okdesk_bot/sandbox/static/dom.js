// DOM helpers. Text always goes in as text nodes: nothing here ever parses HTML.

/**
 * Create an element. `props`: `class`, `text`, `dataset`, `on<event>` handlers, and plain
 * attributes (skipped when null, undefined or false). Children: nodes or strings (as text).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

/**
 * A list whose items are rendered once per distinct key: an unchanged item keeps its node (and
 * its focus, scroll position, open <details>), a changed one is rendered anew.
 */
export function keyedList(container, keyOf, render) {
  let nodes = new Map();
  return function update(items) {
    const next = new Map();
    const counts = new Map();
    const ordered = items.map((item) => {
      const base = keyOf(item);
      const seen = counts.get(base) ?? 0;
      counts.set(base, seen + 1);
      const key = seen ? `${base}#${seen}` : base;
      const node = nodes.get(key) ?? render(item);
      next.set(key, node);
      return node;
    });
    ordered.forEach((node, index) => {
      if (container.children[index] !== node) container.insertBefore(node, container.children[index] ?? null);
    });
    while (container.children.length > ordered.length) container.lastElementChild.remove();
    nodes = next;
  };
}

const TOAST_SECONDS = 4;

/** A short message over the page; `alert` ones stay until closed. */
export function toast(text, { alert = false, error = false } = {}) {
  const item = el("div", { class: `toast${error ? " error" : ""}`, text });
  document.getElementById("toasts").append(item);
  if (alert) {
    item.append(el("button", { type: "button", class: "icon-button", "aria-label": "Закрыть", onclick: () => item.remove(), text: "✕" }));
  } else {
    window.setTimeout(() => item.remove(), TOAST_SECONDS * 1000);
  }
}

/** Run an action for a control, showing that it is busy and reporting a failure. */
export async function busy(control, action) {
  control.disabled = true;
  control.setAttribute("aria-busy", "true");
  try {
    return await action();
  } catch (error) {
    toast(error.message, { error: true });
    return undefined;
  } finally {
    control.disabled = false;
    control.removeAttribute("aria-busy");
  }
}

export function formatTime(date) {
  return date.toLocaleTimeString("ru-RU", { hour: "2-digit", minute: "2-digit" });
}

export function formatDateTime(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("ru-RU", { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" });
}

export function formatSize(bytes) {
  if (bytes == null) return "";
  if (bytes < 1024) return `${bytes} Б`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} КБ`;
  return `${(bytes / 1024 / 1024).toFixed(1)} МБ`;
}
