# Уведомления об изменениях заявок. Аргументы экранируются для HTML Telegram до подстановки.

notify-status-changed =
    🔔 <b>Заявка №{ $number }</b>: { $title }
    Статус: { $old } → <b>{ $new }</b>
notify-status-set =
    🔔 <b>Заявка №{ $number }</b>: { $title }
    Статус: <b>{ $new }</b>
notify-resolution = 💬 <b>{ $author }</b>:
notify-comment =
    💬 <b>Заявка №{ $number }</b>: { $title }
    Новый комментарий от <b>{ $author }</b>:
notify-file = 📎 { $name } — к заявке №{ $number }
notify-support = Служба поддержки
notify-untitled = без названия

notify-button-reply = 💬 Ответить
notify-button-open = 🔗 Открыть заявку
