# Заявки: создание из одного сообщения, список, карточка. Аргументы экранируются для HTML Telegram.

cmd-menu = Главное меню
cmd-new = Создать заявку
cmd-tickets = Мои заявки

## Новая заявка

ticket-prompt =
    Опишите проблему одним сообщением: текстом, фото или документом с подписью, альбомом или голосовым. Это сообщение и станет заявкой.
    Передумали — /cancel
ticket-created =
    ✅ Заявка <b>№{ $number }</b> создана: <b>{ $title }</b>
    Я сообщу, когда её статус изменится. Чтобы дополнить заявку, ответьте на это сообщение.
ticket-already-created = Это сообщение уже стало заявкой <b>№{ $number }</b>: <b>{ $title }</b>
ticket-already-created-toast = Заявка №{ $number } уже создана.
ticket-file-skipped = ⚠️ Файл «{ $name }» ({ $megabytes } МБ) не приложен: Telegram не даёт ботам скачивать файлы больше 20 МБ. Пришлите его ссылкой или по почте, указав номер заявки.
ticket-offer = Создать заявку из этого сообщения?
ticket-offer-create-button = 📝 Создать заявку
ticket-offer-discard-button = Не нужно
ticket-offer-discarded = Хорошо, заявку не создаю.
ticket-retry-button = 🔁 Отправить ещё раз
ticket-draft-kept = Ваше сообщение сохранено. Нажмите «Отправить ещё раз» чуть позже — дубликата не будет.
ticket-draft-gone = Этого сообщения больше нет среди ваших черновиков. Напишите его заново.
ticket-draft-busy = Заявка уже отправляется, подождите несколько секунд.
ticket-rate-limited =
    За последний час вы создали { $limit } { $limit ->
        [one] заявку
        [few] заявки
       *[many] заявок
    } — это предел. Попробуйте позже или дополните уже созданную заявку комментарием.

## Ошибки Okdesk и Telegram

ticket-okdesk-unavailable = Сервис поддержки (Okdesk) сейчас недоступен.
ticket-okdesk-forbidden = Okdesk не разрешил боту это действие. Мы уже разбираемся.
ticket-okdesk-rejected = Okdesk не принял заявку: в настройках сервиса поддержки что-то не так. Мы уже разбираемся.
ticket-okdesk-failed = Okdesk ответил что-то непонятное. Мы уже разбираемся.
ticket-file-unavailable = Не удалось получить ваш файл из Telegram.

## Подсказки

ticket-hint-unsupported = Такое сообщение не получится превратить в заявку. Напишите текстом или пришлите фото, документ либо голосовое.
ticket-hint-add-text = Добавьте к файлу подпись с описанием проблемы — или сначала нажмите «📝 Создать заявку», тогда заявка создастся и без подписи.
ticket-hint-in-dialog = Сейчас я жду другого ответа. Закончите текущий шаг или нажмите /cancel.
ticket-hint-unknown-command = Такой команды нет. Что я умею — /help
ticket-button-outdated = Эта кнопка устарела. Откройте /menu.

## Список заявок

ticket-list-title = <b>Ваши заявки</b> — открытых: { $open }, закрытых: { $closed }
ticket-list-item = { $mark } <b>№{ $number }</b> { $title } — { $status }
ticket-list-page = Страница { $page } из { $pages }
ticket-list-empty = У вас пока нет заявок. Нажмите «📝 Создать заявку» или просто напишите, что случилось.
ticket-list-prev = ◀️ Назад
ticket-list-next = Дальше ▶️
ticket-status-none = Открытых заявок нет. Все заявки — /tickets
ticket-status-choose =
    { $count ->
        [one] У вас { $count } открытая заявка.
        [few] У вас { $count } открытые заявки.
       *[many] У вас { $count } открытых заявок.
    } Какую показать?

## Карточка заявки

ticket-card =
    <b>Заявка №{ $number }</b>
    { $title }

    Статус: <b>{ $status }</b>
    Создана: { $created }
    Обновлена: { $updated }
    Исполнитель: { $assignee }
ticket-card-no-assignee = пока не назначен
ticket-card-last-comment = <b>Последний комментарий</b> — { $author }, { $at }:
ticket-card-comment-files-only = <i>(только вложения — откройте заявку в Okdesk)</i>
ticket-card-no-comments = Комментариев пока нет.
ticket-card-support = служба поддержки
ticket-refreshed = Обновлено
ticket-card-button = 📄 Карточка заявки
ticket-open-button = 🌐 Открыть в Okdesk
ticket-refresh-button = 🔄 Обновить
ticket-comment-button = 💬 Комментировать
ticket-history-button = 🗂 История комментариев
