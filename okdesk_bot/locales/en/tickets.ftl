# Tickets: made from one message, the list, the card. Arguments are escaped for Telegram HTML.

cmd-menu = Main menu
cmd-new = Create a ticket
cmd-tickets = My tickets

## A new ticket

ticket-prompt =
    Describe the problem in one message: text, a photo or document with a caption, an album or a voice note. That message becomes the ticket.
    Changed your mind? /cancel
ticket-created =
    ✅ Ticket <b>#{ $number }</b> created: <b>{ $title }</b>
    I will tell you when its status changes. To add to the ticket, reply to this message.
ticket-already-created = This message has already become ticket <b>#{ $number }</b>: <b>{ $title }</b>
ticket-already-created-toast = Ticket #{ $number } has already been created.
ticket-file-skipped = ⚠️ The file “{ $name }” ({ $megabytes } MB) is not attached: Telegram does not let bots download files over 20 MB. Please send it as a link or by e-mail, quoting the ticket number.
ticket-offer = Create a ticket from this message?
ticket-offer-create-button = 📝 Create a ticket
ticket-offer-discard-button = No, thanks
ticket-offer-discarded = All right, no ticket.
ticket-retry-button = 🔁 Send again
ticket-draft-kept = Your message is saved. Tap “Send again” a bit later — it will not create a duplicate.
ticket-draft-gone = This message is no longer among your drafts. Please write it again.
ticket-draft-busy = The ticket is being sent already; please wait a few seconds.
ticket-rate-limited =
    You have created { $limit } { $limit ->
        [one] ticket
       *[other] tickets
    } in the last hour, which is the limit. Please try later or add a comment to a ticket you already have.

## Okdesk and Telegram failures

ticket-okdesk-unavailable = The support desk (Okdesk) is unavailable right now.
ticket-okdesk-forbidden = Okdesk did not allow the bot to do this. We are looking into it.
ticket-okdesk-rejected = Okdesk did not accept the ticket: something is wrong in the support desk settings. We are looking into it.
ticket-okdesk-failed = Okdesk gave an answer the bot does not understand. We are looking into it.
ticket-file-unavailable = Could not get your file from Telegram.

## Hints

ticket-hint-unsupported = I cannot make a ticket from a message like this. Please write text or send a photo, a document or a voice note.
ticket-hint-add-text = Add a caption describing the problem — or tap “📝 Create a ticket” first, then no caption is needed.
ticket-hint-in-dialog = I am waiting for a different answer right now. Finish the current step or tap /cancel.
ticket-hint-unknown-command = There is no such command. What I can do: /help
ticket-button-outdated = This button is out of date. Open /menu.

## The list of tickets

ticket-list-title = <b>Your tickets</b> — open: { $open }, closed: { $closed }
ticket-list-item = { $mark } <b>#{ $number }</b> { $title } — { $status }
ticket-list-page = Page { $page } of { $pages }
ticket-list-empty = You have no tickets yet. Tap “📝 Create a ticket” or just write what happened.
ticket-list-prev = ◀️ Back
ticket-list-next = Next ▶️
ticket-status-none = You have no open tickets. All tickets: /tickets
ticket-status-choose =
    { $count ->
        [one] You have { $count } open ticket.
       *[other] You have { $count } open tickets.
    } Which one should I show?

## The ticket card

ticket-card =
    <b>Ticket #{ $number }</b>
    { $title }

    Status: <b>{ $status }</b>
    Created: { $created }
    Updated: { $updated }
    Assignee: { $assignee }
ticket-card-no-assignee = not assigned yet
ticket-card-last-comment = <b>Last comment</b> — { $author }, { $at }:
ticket-card-comment-files-only = <i>(attachments only — open the ticket in Okdesk)</i>
ticket-card-no-comments = No comments yet.
ticket-card-support = support desk
ticket-refreshed = Refreshed
ticket-card-button = 📄 Ticket card
ticket-open-button = 🌐 Open in Okdesk
ticket-refresh-button = 🔄 Refresh
ticket-comment-button = 💬 Comment
ticket-history-button = 🗂 Comment history
