# Ticket change notifications. Arguments are escaped for Telegram HTML before substitution.

notify-status-changed =
    🔔 <b>Ticket #{ $number }</b>: { $title }
    Status: { $old } → <b>{ $new }</b>
notify-status-set =
    🔔 <b>Ticket #{ $number }</b>: { $title }
    Status: <b>{ $new }</b>
notify-resolution = 💬 <b>{ $author }</b>:
notify-comment =
    💬 <b>Ticket #{ $number }</b>: { $title }
    New comment from <b>{ $author }</b>:
notify-file = 📎 { $name } — ticket #{ $number }
notify-support = Support team
notify-untitled = untitled

notify-button-reply = 💬 Reply
notify-button-open = 🔗 Open the ticket
