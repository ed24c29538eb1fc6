# Комментарии к заявкам: добавление (меню, кнопка заявки, ответ на сообщение) и история.

comment-no-open-tickets = У вас нет открытых заявок. Чтобы написать нам, создайте заявку: «📝 Создать заявку».
comment-choose-ticket = К какой заявке добавить комментарий?
comment-ticket-number = №{ $number }
comment-write-prompt =
    ✍️ Напишите комментарий к заявке №{ $number } «{ $title }»: текст, фото или документ.
    Передумали — /cancel
comment-unsupported = Комментарий может быть текстом, фото или документом. Отправьте его или нажмите /cancel.
comment-empty = Комментарий пустой. Напишите текст или приложите фото или документ.
comment-file-too-big = Файл больше 20 МБ: Telegram не даёт ботам скачивать такие файлы. Сожмите его или пришлите ссылку на файл.
comment-added = ✅ Комментарий добавлен к заявке №{ $number }.
comment-already-posted = ✅ Комментарий уже есть в заявке №{ $number }, повторно не отправляю.
comment-not-posted-unavailable =
    ⚠️ Okdesk сейчас недоступен: комментарий к заявке №{ $number } не отправлен.
    Я его сохранил — нажмите «🔁 Отправить ещё раз» чуть позже.
comment-not-posted-rejected =
    ⚠️ Okdesk не принял комментарий к заявке №{ $number }.
    Я его сохранил — попробуйте отправить ещё раз позже.
comment-not-posted-file =
    ⚠️ Не удалось получить файл из Telegram: комментарий к заявке №{ $number } не отправлен.
    Я его сохранил — нажмите «🔁 Отправить ещё раз» чуть позже.
comment-pending-gone = Этот комментарий уже отправлен или удалён.
comment-discarded = Хорошо, этот комментарий не будет отправлен.
comment-okdesk-unreachable = Не удалось связаться с Okdesk. Попробуйте, пожалуйста, чуть позже.

comment-button-add = 💬 Комментировать
comment-button-history = 🗂 История
comment-button-resend = 🔁 Отправить ещё раз
comment-button-discard = 🗑 Не отправлять

comment-history-title = <b>Заявка №{ $number }: { $title }</b>
comment-history-empty = Комментариев пока нет.
comment-history-truncated = Показаны последние комментарии: { $shown } из { $total }. Остальные — в Okdesk.
comment-history-entry = <b>{ $author }</b> · { $date }
comment-history-entry-own = <b>Вы</b> · { $date }
comment-history-entry-support = <b>Служба поддержки</b> · { $date }
comment-history-files = 📎 { $names }
