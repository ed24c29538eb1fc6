// The client pane: a Telegram-like chat of the sandbox's person with the bot.
// Every action is a request to the Telegram emulator's person API (`/_user/…`).
import { fileToBase64, request, telegramUrl } from "./api.js";
import { busy, el, formatSize, formatTime, keyedList, toast } from "./dom.js";
import { preview, renderEntities, safeUrl } from "./richtext.js";

const CALLBACK_WAIT_SECONDS = 10;

export class ChatPane {
  constructor(config) {
    this.client = config.client;
    this.messages = new Map();
    this.replyTo = null;
    this.$ = (id) => document.getElementById(id);
    this.list = this.$("messages");
    this.renderList = keyedList(this.list, (message) => JSON.stringify(message), (message) => this.renderMessage(message));
    this.input = this.$("message-input");
    this.showIdentity(config);
    this.bindComposer();
    this.loadCommands();
  }

  userUrl(action) {
    return telegramUrl(`users/${this.client.id}/${action}`);
  }

  act(action, body) {
    return request("POST", this.userUrl(action), body);
  }

  showIdentity(config) {
    const bot = config.bot;
    this.$("bot-avatar").textContent = (bot.first_name || "B").slice(0, 1);
    this.$("bot-name").textContent = `${bot.first_name} · @${bot.username}`;
    const name = [this.client.first_name, this.client.last_name].filter(Boolean).join(" ");
    this.$("client-identity").textContent = `Вы: ${name}, ${this.client.phone_number}`;
  }

  // --- live updates ----------------------------------------------------------------------

  update({ messages, keyboard }) {
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.messages = new Map(messages.map((message) => [message.message_id, message]));
    this.renderList(messages);
    this.renderKeyboard(keyboard);
    this.$("start-button").hidden = messages.length > 0;
    if (this.replyTo !== null && !this.messages.has(this.replyTo)) this.cancelReply();
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
  }

  renderMessage(message) {
    const mine = !message.from_bot;
    const bubble = el("div", { class: "bubble" });
    const quoted = this.messages.get(message.reply_to_message_id);
    if (message.reply_to_message_id != null) {
      bubble.append(el("div", { class: "quote", text: quoted ? preview(quoted) : "Сообщение удалено" }));
    }
    bubble.append(...this.renderMedia(message.media ?? {}));
    const text = message.text ?? message.caption;
    if (text) bubble.append(el("div", { class: "text" }, renderEntities(text, message.entities)));
    bubble.append(
      el(
        "div",
        { class: "meta" },
        message.edit_date ? el("span", { text: "изменено " }) : null,
        el("time", { datetime: new Date(message.date * 1000).toISOString(), text: formatTime(new Date(message.date * 1000)) }),
      ),
    );
    bubble.addEventListener("click", (event) => this.onTextClick(event));
    const item = el(
      "li",
      { class: `message ${mine ? "mine" : "theirs"}`, dataset: { messageId: message.message_id } },
      bubble,
      el("button", {
        type: "button",
        class: "reply-action",
        "aria-label": `Ответить на сообщение: ${preview(message)}`,
        title: "Ответить",
        text: "↩",
        onclick: () => this.startReply(message.message_id),
      }),
    );
    const rows = message.reply_markup?.inline_keyboard;
    if (rows) item.append(this.renderInlineKeyboard(message, rows));
    return item;
  }

  renderMedia(media) {
    const nodes = [];
    if (media.photo) {
      const largest = media.photo[media.photo.length - 1];
      nodes.push(el("img", { class: "photo", src: telegramUrl(`files/${encodeURIComponent(largest.file_id)}`), alt: "Фото" }));
    }
    if (media.document) {
      const doc = media.document;
      nodes.push(
        el("a", {
          class: "file",
          href: telegramUrl(`files/${encodeURIComponent(doc.file_id)}`),
          download: doc.file_name ?? "file",
          text: `📄 ${doc.file_name ?? "Файл"} · ${formatSize(doc.file_size)}`,
        }),
      );
    }
    if (media.contact) {
      const contact = media.contact;
      const name = [contact.first_name, contact.last_name].filter(Boolean).join(" ");
      nodes.push(el("div", { class: "contact-card", text: `👤 ${name} · ${contact.phone_number}` }));
    }
    if (media.voice) nodes.push(el("div", { text: `🎤 Голосовое сообщение, ${media.voice.duration} с` }));
    if (media.sticker) nodes.push(el("div", { class: "sticker", text: media.sticker.emoji ?? "Стикер" }));
    if (media.location) nodes.push(el("div", { text: `📍 ${media.location.latitude}, ${media.location.longitude}` }));
    return nodes;
  }

  renderInlineKeyboard(message, rows) {
    return el(
      "div",
      { class: "inline-keyboard", role: "group", "aria-label": "Кнопки сообщения" },
      rows.map((row) =>
        el(
          "div",
          { class: "keyboard-row" },
          row.map((button) => {
            if (button.callback_data != null) {
              return el("button", {
                type: "button",
                text: button.text,
                onclick: (event) => this.press(event.currentTarget, message.message_id, button.callback_data),
              });
            }
            const href = safeUrl(button.url);
            return href
              ? el("a", { class: "button-link", href, target: "_blank", rel: "noopener noreferrer", text: `${button.text} ↗` })
              : el("span", { class: "button-link", "aria-disabled": "true", text: button.text });
          }),
        ),
      ),
    );
  }

  renderKeyboard(keyboard) {
    const box = this.$("reply-keyboard");
    this.input.placeholder = keyboard?.input_field_placeholder || "Сообщение";
    if (!keyboard) {
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    box.hidden = false;
    box.replaceChildren(
      ...keyboard.keyboard.map((row) =>
        el(
          "div",
          { class: "keyboard-row" },
          row.map((button) =>
            el("button", {
              type: "button",
              text: button.text,
              title: button.request_contact ? `Отправит ваш номер ${this.client.phone_number}` : null,
              onclick: (event) => busy(event.currentTarget, () => this.act("press-reply", { text: button.text })),
            }),
          ),
        ),
      ),
    );
  }

  // --- actions ---------------------------------------------------------------------------

  async press(control, messageId, data) {
    await busy(control, async () => {
      const query = await this.act("press", { message_id: messageId, button: data });
      const answer = await request("GET", telegramUrl(`users/${this.client.id}/callbacks/${query.id}?timeout=${CALLBACK_WAIT_SECONDS}`));
      if (answer.answer_text) toast(answer.answer_text, { alert: answer.show_alert });
    });
  }

  onTextClick(event) {
    const command = event.target.closest("a.command");
    if (command) {
      event.preventDefault();
      this.act("text", { text: command.dataset.command }).catch((error) => toast(error.message, { error: true }));
    }
    const spoiler = event.target.closest(".spoiler");
    if (spoiler) spoiler.classList.add("revealed");
  }

  startReply(messageId) {
    const message = this.messages.get(messageId);
    if (!message) return;
    this.replyTo = messageId;
    this.$("reply-preview").textContent = preview(message);
    this.$("reply-bar").hidden = false;
    this.input.focus();
  }

  cancelReply() {
    this.replyTo = null;
    this.$("reply-bar").hidden = true;
  }

  async sendText(text) {
    if (this.replyTo !== null) {
      await this.act("reply", { message_id: this.replyTo, text });
      this.cancelReply();
    } else {
      await this.act("text", { text });
    }
  }

  async sendFile(file, kind) {
    const caption = this.input.value.trim() || null;
    const data = await fileToBase64(file);
    if (kind === "photo") {
      await this.act("photo", { data_base64: data, caption });
    } else {
      await this.act("document", { data_base64: data, file_name: file.name, mime_type: file.type || null, caption });
    }
    this.input.value = "";
  }

  bindComposer() {
    const form = this.$("composer");
    const send = form.querySelector(".send-button");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = this.input.value;
      if (!text.trim()) return;
      const sent = await busy(send, async () => {
        await this.sendText(text);
        return true;
      });
      if (sent) this.input.value = "";
      this.input.focus();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    this.$("reply-cancel").addEventListener("click", () => this.cancelReply());
    this.$("start-button").addEventListener("click", (event) => busy(event.currentTarget, () => this.act("text", { text: "/start" })));

    const attachMenu = this.$("attach-menu");
    for (const [buttonId, inputId, kind] of [["attach-photo", "photo-input", "photo"], ["attach-document", "document-input", "document"]]) {
      const input = this.$(inputId);
      this.$(buttonId).addEventListener("click", () => {
        attachMenu.open = false;
        input.click();
      });
      input.addEventListener("change", async () => {
        const [file] = input.files;
        input.value = "";
        if (file) await busy(send, () => this.sendFile(file, kind));
      });
    }
    this.$("share-phone").addEventListener("click", (event) => {
      attachMenu.open = false;
      busy(event.currentTarget, () => this.act("contact", {}));
    });
  }

  async loadCommands() {
    const list = this.$("commands-list");
    const menu = this.$("commands-menu");
    try {
      const [bot] = await request("GET", telegramUrl("bots"));
      const language = this.client.language_code || "-";
      const keys = [`all_private_chats/${language}`, "all_private_chats/-", `default/${language}`, "default/-"];
      const commands = keys.map((key) => bot.commands[key]).find(Boolean) ?? [];
      list.replaceChildren(
        ...commands.map((command) =>
          el(
            "li",
            {},
            el("button", {
              type: "button",
              onclick: (event) => {
                menu.open = false;
                busy(event.currentTarget, () => this.act("text", { text: `/${command.command}` }));
              },
              text: `/${command.command} — ${command.description}`,
            }),
          ),
        ),
      );
    } catch (error) {
      toast(`Команды бота не загрузились: ${error.message}`, { error: true });
    }
  }
}
