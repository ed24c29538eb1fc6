// Formatted text without injecting HTML: Telegram messages are drawn from their entities (what a
// Telegram client receives), Okdesk's HTML is rebuilt node by node from a short allow-list.
import { el } from "./dom.js";

const TELEGRAM_TAGS = {
  bold: "b",
  italic: "i",
  underline: "u",
  strikethrough: "s",
  code: "code",
  pre: "pre",
  blockquote: "blockquote",
  expandable_blockquote: "blockquote",
};

/** Only web links open; anything else (javascript:, data:, tg:) stays plain text. */
export function safeUrl(url) {
  return typeof url === "string" && /^https?:\/\//i.test(url.trim()) ? url.trim() : null;
}

function link(url) {
  const href = safeUrl(url);
  return href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }) : el("span", { class: "link" });
}

function entityNode(entity, covered) {
  if (TELEGRAM_TAGS[entity.type]) {
    const node = el(TELEGRAM_TAGS[entity.type]);
    if (entity.type === "pre" && entity.language) node.dataset.language = entity.language;
    return node;
  }
  switch (entity.type) {
    case "text_link":
      return link(entity.url);
    case "url":
      return link(/^[a-z]+:\/\//i.test(covered) ? covered : `http://${covered}`);
    case "bot_command":
      return el("a", { href: "#", class: "command", dataset: { command: covered } });
    case "spoiler":
      return el("span", { class: "spoiler", title: "Скрытый текст: нажмите, чтобы показать" });
    default:
      return el("span", { class: `entity-${String(entity.type).replace(/[^a-z_]/g, "")}` });
  }
}

/**
 * A message's text with its entities as DOM nodes. Offsets are UTF-16 code units, exactly as in
 * JavaScript strings; entities nest, and one that overlaps another only partly is cut at its end.
 */
export function renderEntities(text, entities = []) {
  const fragment = document.createDocumentFragment();
  const sorted = [...entities].sort((a, b) => a.offset - b.offset || b.length - a.length);
  let next = 0;
  const build = (parent, start, end) => {
    let position = start;
    while (next < sorted.length && sorted[next].offset < end) {
      const entity = sorted[next++];
      const from = Math.max(entity.offset, position);
      const to = Math.min(entity.offset + entity.length, end);
      if (to <= from) continue;
      if (from > position) parent.append(text.slice(position, from));
      const node = entityNode(entity, text.slice(entity.offset, entity.offset + entity.length));
      build(node, from, to);
      parent.append(node);
      position = to;
    }
    if (position < end) parent.append(text.slice(position, end));
  };
  build(fragment, 0, text.length);
  return fragment;
}

const OKDESK_TAGS = new Map([
  ["P", "p"], ["DIV", "p"], ["BR", "br"], ["B", "b"], ["STRONG", "b"], ["I", "i"], ["EM", "i"],
  ["U", "u"], ["S", "s"], ["STRIKE", "s"], ["DEL", "s"], ["A", "a"], ["UL", "ul"], ["OL", "ol"],
  ["LI", "li"], ["BLOCKQUOTE", "blockquote"], ["CODE", "code"], ["PRE", "pre"],
]);
const DROPPED = new Set(["SCRIPT", "STYLE", "TEMPLATE", "NOSCRIPT", "IFRAME", "OBJECT", "HEAD", "TITLE"]);

function copyInto(target, source) {
  for (const node of source.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      target.append(node.textContent);
    } else if (node.nodeType === Node.ELEMENT_NODE && !DROPPED.has(node.tagName)) {
      const tag = OKDESK_TAGS.get(node.tagName);
      if (!tag) {
        copyInto(target, node);
        continue;
      }
      const copy = tag === "a" ? link(node.getAttribute("href")) : el(tag);
      copyInto(copy, node);
      target.append(copy);
    }
  }
}

/** Okdesk's HTML (comments, descriptions) as fresh, harmless DOM nodes. */
export function renderOkdeskHtml(html) {
  const fragment = document.createDocumentFragment();
  // A DOMParser document is inert: nothing in it runs or loads.
  const parsed = new DOMParser().parseFromString(String(html ?? ""), "text/html");
  copyInto(fragment, parsed.body);
  return fragment;
}

/** Plain text typed by support, as the HTML Okdesk stores: one paragraph per line, escaped. */
export function textToOkdeskHtml(text) {
  const holder = document.createElement("div");
  for (const line of text.split(/\r?\n/)) holder.append(el("p", { text: line }));
  return holder.innerHTML;
}

/** A one-line preview of a message, for reply quotes. */
export function preview(message) {
  const text = message.text ?? message.caption;
  if (text) return text.length > 80 ? `${text.slice(0, 79)}…` : text;
  const media = Object.keys(message.media ?? {})[0];
  return { photo: "🖼 Фото", document: "📄 Файл", contact: "👤 Контакт", voice: "🎤 Голосовое", sticker: "Стикер", location: "📍 Геопозиция" }[media] ?? "Сообщение";
}
