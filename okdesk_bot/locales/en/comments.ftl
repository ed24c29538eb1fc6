# Ticket comments: adding one (menu, a ticket's button, a reply to a message) and the history.

comment-no-open-tickets = You have no open tickets. To write to us, create one: «📝 Create a ticket».
comment-choose-ticket = Which ticket is the comment for?
comment-ticket-number = #{ $number }
comment-write-prompt =
    ✍️ Write your comment to ticket #{ $number } «{ $title }»: text, a photo or a document.
    Changed your mind? /cancel
comment-unsupported = A comment can be text, a photo or a document. Send it or tap /cancel.
comment-empty = The comment is empty. Write some text or attach a photo or a document.
comment-file-too-big = The file is over 20 MB: Telegram does not let bots download files that big. Compress it or send a link to it.
comment-added = ✅ Comment added to ticket #{ $number }.
comment-already-posted = ✅ The comment is already in ticket #{ $number }; not sending it twice.
comment-not-posted-unavailable =
    ⚠️ Okdesk is unavailable right now: the comment to ticket #{ $number } was not sent.
    I kept it — tap «🔁 Send again» a bit later.
comment-not-posted-rejected =
    ⚠️ Okdesk did not accept the comment to ticket #{ $number }.
    I kept it — try sending it again later.
comment-not-posted-file =
    ⚠️ Could not get the file from Telegram: the comment to ticket #{ $number } was not sent.
    I kept it — tap «🔁 Send again» a bit later.
comment-pending-gone = This comment has already been sent or discarded.
comment-discarded = OK, this comment will not be sent.
comment-okdesk-unreachable = Could not reach Okdesk. Please try again a bit later.

comment-button-add = 💬 Comment
comment-button-history = 🗂 History
comment-button-resend = 🔁 Send again
comment-button-discard = 🗑 Don't send

comment-history-title = <b>Ticket #{ $number }: { $title }</b>
comment-history-empty = No comments yet.
comment-history-truncated = Showing the latest comments: { $shown } of { $total }. The rest are in Okdesk.
comment-history-entry = <b>{ $author }</b> · { $date }
comment-history-entry-own = <b>You</b> · { $date }
comment-history-entry-support = <b>Support</b> · { $date }
comment-history-files = 📎 { $names }
