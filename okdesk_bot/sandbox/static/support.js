// The support pane: the tickets of the Okdesk emulator and its webhook log.
// Every action is a request to the Okdesk emulator's staff API (`/_staff/…`), as an employee.
import { fileToBase64, request, staffUrl } from "./api.js";
import { busy, el, formatDateTime, formatSize, keyedList, toast } from "./dom.js";
import { renderOkdeskHtml, textToOkdeskHtml } from "./richtext.js";

const AUTHOR_KIND = { employee: "сотрудник", contact: "клиент" };

/** What an Okdesk webhook says, in a few words (the full payload is one click away). */
function describeEvent(payload) {
  const event = payload?.event ?? {};
  if (event.new_status) {
    const comment = event.comment ? `, комментарий ${event.comment.is_public ? "публичный" : "приватный"}` : "";
    return `${event.old_status?.name ?? "—"} → ${event.new_status.name}${comment}`;
  }
  if (event.comment) return `комментарий ${event.comment.is_public ? "публичный" : "приватный"}`;
  return payload?.issue?.title ?? "";
}

export class SupportPane {
  constructor(config) {
    this.statuses = new Map(config.statuses.map((status) => [status.code, status]));
    this.tickets = new Map();
    this.selected = null;
    this.$ = (id) => document.getElementById(id);
    this.renderTicketList = keyedList(this.$("ticket-list"), (entry) => JSON.stringify([entry.issue, entry.comments.length, entry.issue.id === this.selected]), (entry) => this.renderTicketItem(entry));
    this.renderComments = keyedList(this.$("ticket-comments"), (comment) => JSON.stringify(comment), (comment) => this.renderComment(comment));
    this.renderWebhookLog = keyedList(this.$("webhook-log"), (delivery) => JSON.stringify(delivery), (delivery) => this.renderDelivery(delivery));
    this.fillStatusSelect(config.statuses);
    this.bindViews();
    this.bindForms();
  }

  // --- live updates ----------------------------------------------------------------------

  updateTickets(entries) {
    this.tickets = new Map(entries.map((entry) => [entry.issue.id, entry]));
    if (!this.tickets.has(this.selected)) this.selected = null;
    if (this.selected === null && entries.length) this.selected = Math.max(...this.tickets.keys());
    this.$("tickets-count").textContent = String(entries.length);
    this.renderTickets();
  }

  renderTickets() {
    const newestFirst = [...this.tickets.values()].sort((a, b) => b.issue.id - a.issue.id);
    this.renderTicketList(newestFirst);
    this.renderDetail(this.tickets.get(this.selected));
  }

  updateWebhooks(deliveries) {
    this.$("webhooks-count").textContent = String(deliveries.length);
    this.renderWebhookLog(deliveries);
  }

  select(issueId) {
    this.selected = issueId;
    this.renderTickets();
  }

  statusBadge(status) {
    const badge = el("span", { class: "badge", text: status?.name ?? "—" });
    const color = this.statuses.get(status?.code)?.color;
    if (color) badge.style.setProperty("--status-color", color);
    return badge;
  }

  renderTicketItem({ issue, comments }) {
    const current = issue.id === this.selected;
    return el(
      "li",
      {},
      el(
        "button",
        {
          type: "button",
          class: "ticket-item",
          "aria-current": current ? "true" : null,
          onclick: () => this.select(issue.id),
        },
        el("span", { class: "ticket-number", text: `№${issue.id}` }),
        el("span", { class: "ticket-item-title", text: issue.title }),
        el("span", { class: "ticket-item-meta" }, this.statusBadge(issue.status), ` ${issue.contact?.name ?? "без контакта"} · 💬 ${comments.length}`),
      ),
    );
  }

  renderDetail(entry) {
    this.$("ticket-empty").hidden = Boolean(entry);
    this.$("ticket-body").hidden = !entry;
    if (!entry) return;
    const { issue, comments } = entry;
    this.$("ticket-title").textContent = `№${issue.id} · ${issue.title}`;
    this.$("ticket-status").replaceWith(Object.assign(this.statusBadge(issue.status), { id: "ticket-status" }));
    const facts = [
      ["Контакт", issue.contact?.name ?? "—"],
      ["Автор", issue.author?.name ?? "—"],
      ["Исполнитель", issue.assignee?.name ?? "не назначен"],
      ["Создана", formatDateTime(issue.created_at)],
      ["Обновлена", formatDateTime(issue.updated_at)],
    ];
    if (issue.attachments?.length) facts.push(["Файлы", issue.attachments.map((file) => file.attachment_file_name).join(", ")]);
    this.$("ticket-facts").replaceChildren(...facts.flatMap(([term, value]) => [el("dt", { text: term }), el("dd", { text: value })]));
    this.$("ticket-description").replaceChildren(renderOkdeskHtml(issue.description));
    this.renderComments(comments);
    const select = this.$("status-select");
    if (select.dataset.issue !== String(issue.id) || select.dataset.status !== issue.status.code) {
      select.dataset.issue = String(issue.id);
      select.dataset.status = issue.status.code;
      // Offer the status after the current one, the usual next step.
      const codes = [...select.options].map((option) => option.value);
      select.value = codes[(codes.indexOf(issue.status.code) + 1) % codes.length] ?? codes[0];
    }
  }

  renderComment(comment) {
    const visibility = comment.public ? "Публичный" : "🔒 Приватный";
    return el(
      "li",
      { class: `comment ${comment.public ? "public" : "private"}` },
      el(
        "div",
        { class: "comment-head" },
        el("b", { text: comment.author?.name ?? "—" }),
        ` (${AUTHOR_KIND[comment.author?.type] ?? comment.author?.type}) · ${formatDateTime(comment.published_at)} `,
        el("span", { class: `visibility-badge ${comment.public ? "public" : "private"}`, text: visibility }),
      ),
      el("div", { class: "okdesk-text" }, renderOkdeskHtml(comment.content)),
      comment.attachments?.length
        ? el("div", { class: "muted", text: `📎 ${comment.attachments.map((file) => `${file.attachment_file_name} (${formatSize(file.attachment_file_size)})`).join(", ")}` })
        : null,
    );
  }

  renderDelivery(delivery) {
    const answered = delivery.status != null;
    const ok = answered && delivery.status >= 200 && delivery.status < 300;
    let outcome = delivery.dropped ? "не отправлен (сброшен эмулятором)" : `ошибка: ${delivery.error}`;
    if (answered) outcome = `HTTP ${delivery.status}`;
    return el(
      "li",
      { class: `delivery ${ok ? "ok" : "failed"}` },
      el(
        "div",
        { class: "delivery-head" },
        el("time", { datetime: delivery.sent_at, text: formatDateTime(delivery.sent_at) }),
        el("code", { text: delivery.event_type }),
        el("span", { text: delivery.issue_id ? `заявка №${delivery.issue_id}` : "" }),
        el("span", { class: "muted", text: describeEvent(delivery.payload) }),
        el("span", { class: "delivery-outcome", text: `${ok ? "✓" : "✗"} ${outcome}` }),
      ),
      el("details", {}, el("summary", { text: `POST ${delivery.url}` }), el("pre", { text: JSON.stringify(delivery.payload, null, 2) })),
    );
  }

  // --- controls --------------------------------------------------------------------------

  fillStatusSelect(statuses) {
    this.$("status-select").replaceChildren(...statuses.map((status) => el("option", { value: status.code, text: status.name })));
  }

  bindViews() {
    const buttons = document.querySelectorAll(".view-switch button");
    for (const button of buttons) {
      button.addEventListener("click", () => {
        for (const other of buttons) {
          const active = other === button;
          other.setAttribute("aria-pressed", String(active));
          this.$(`${other.dataset.view}-view`).hidden = !active;
        }
      });
    }
  }

  bindForms() {
    const statusForm = this.$("status-form");
    statusForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const issueId = this.selected;
      const comment = this.$("status-comment").value.trim();
      const body = { code: this.$("status-select").value };
      if (comment) {
        body.comment = textToOkdeskHtml(comment);
        body.comment_public = this.$("status-comment-public").checked;
      }
      busy(event.submitter ?? statusForm, async () => {
        const issue = await request("POST", staffUrl(`issues/${issueId}/statuses`), body);
        this.$("status-comment").value = "";
        toast(`Заявка №${issueId}: статус «${issue.status.name}»`);
      });
    });

    const commentForm = this.$("comment-form");
    commentForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const issueId = this.selected;
      const text = this.$("comment-text").value.trim();
      const [file] = this.$("comment-file").files;
      const isPublic = commentForm.elements.visibility.value === "public";
      if (!text && !file) {
        toast("Напишите комментарий или выберите файл", { error: true });
        return;
      }
      busy(event.submitter ?? commentForm, async () => {
        const attachments = file ? [await this.upload(file, isPublic)] : [];
        if (text) {
          await request("POST", staffUrl(`issues/${issueId}/comments`), { content: textToOkdeskHtml(text), public: isPublic, attachments });
        } else {
          await request("POST", staffUrl(`issues/${issueId}/attachments`), { attachments });
        }
        commentForm.reset();
        toast(text ? `Комментарий к заявке №${issueId} добавлен` : `Файл приложен к заявке №${issueId}`);
      });
    });
  }

  async upload(file, isPublic) {
    return {
      file_name: file.name,
      content_base64: await fileToBase64(file),
      content_type: file.type || "application/octet-stream",
      is_public: isPublic,
    };
  }
}
