// The sandbox page: two panes fed by one Server-Sent Events stream (`/api/events`).
import { request } from "./api.js";
import { ChatPane } from "./chat.js";
import { toast } from "./dom.js";
import { SupportPane } from "./support.js";

function showConnection(state, text) {
  const status = document.getElementById("connection");
  status.dataset.state = state;
  status.textContent = text;
}

// On a narrow screen one pane is shown at a time; at laptop width both are.
function bindPaneSwitch() {
  const main = document.querySelector(".panes");
  const buttons = document.querySelectorAll(".pane-switch button");
  for (const button of buttons) {
    button.addEventListener("click", () => {
      main.dataset.activePane = button.dataset.pane;
      for (const other of buttons) other.setAttribute("aria-pressed", String(other === button));
    });
  }
}

function listen(chat, support) {
  const events = new EventSource("/api/events");
  const on = (name, handle) => events.addEventListener(name, (event) => handle(JSON.parse(event.data)));
  on("chat", (part) => chat.update(part));
  on("tickets", (part) => support.updateTickets(part));
  on("webhooks", (part) => support.updateWebhooks(part));
  events.addEventListener("open", () => showConnection("online", "● На связи"));
  // EventSource reconnects by itself; the server sends everything again on reconnect.
  events.addEventListener("error", () => showConnection("offline", "○ Нет связи с песочницей — переподключаюсь"));
}

async function start() {
  bindPaneSwitch();
  try {
    const config = await request("GET", "/api/sandbox");
    listen(new ChatPane(config), new SupportPane(config));
  } catch (error) {
    showConnection("offline", "○ Песочница не отвечает");
    toast(`Не удалось загрузить песочницу: ${error.message}`, { error: true, alert: true });
  }
}

start();
