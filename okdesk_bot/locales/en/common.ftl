# Common bot texts. Arguments are escaped for Telegram HTML before interpolation.

start-greeting =
    Hello, { $name }! 👋
    I am the support desk bot: here you can create tickets, follow their status and talk to our specialists.

help =
    <b>What I can do</b>
    /start — get started
    /menu — the main menu
    /new — create a ticket: your next message (text, photo, document, album, voice note) becomes it
    /tickets — my tickets and their status
    /cancel — cancel the current action
    /help — this help

cancelled = Cancelled.
nothing-to-cancel = There is nothing to cancel.
unsupported-chat = I only work in private messages. Please write to me directly.
unexpected-error = Something went wrong. Please try again a bit later — we already know about it.

cmd-start = Get started
cmd-help = Help
cmd-cancel = Cancel the current action

menu-create = 📝 Create a ticket
menu-tickets = 📋 My tickets
menu-status = 🔄 Check status
menu-comment = 💬 Add a comment
menu-shown = Main menu. Choose an action or just write what happened.

not-registered = Please register first — it takes a minute. Tap /start.
ticket-not-yours = This ticket is not among yours. Open the list: /tickets

# A time and the name of its zone (zone-moscow, or an offset such as UTC+5).
moment = { $moment } { $zone }
zone-moscow = Moscow time
