# Registration (/start), profile (/profile) and unbinding (/logout).
# Arguments are escaped for Telegram HTML before interpolation.

-name-example = <i>Ivanov Ivan Ivanovich</i>
-phone-example = <i>+7 999 123-45-67</i>

reg-choose-kind = To create tickets, please register once — it takes a minute. Are you contacting us as a private person or on behalf of a company?
reg-kind-individual = 👤 Private person
reg-kind-legal = 🏢 Company
reg-choose-kind-hint = Please choose with a button under the message.
reg-welcome-back = Welcome back, { $name }! Choose an action in the menu or just write what happened.
reg-change-intro = Let's update your profile. Until you finish, the current details stay.

reg-inn-prompt = Send the company's INN (taxpayer number): 10 digits, 12 for a sole proprietor.
reg-inn-error-length = An INN has 10 digits (12 for a sole proprietor). Please check it and send it again.
reg-inn-error-not-digits = An INN contains digits only. Please check it and send it again.
reg-inn-error-checksum = This INN seems to have a typo: its check digit does not match. Please check it and send it again.
reg-inn-unknown = No client company with INN { $inn } was found. Check the number and send it again, or register as a private person.
reg-as-individual = 👤 Register as a private person
reg-company-confirm = Found the company: <b>{ $company }</b> (INN { $inn }). Is this your company?
reg-company-yes = ✅ Yes, that's us
reg-company-no = ❌ No
reg-company-rejected = All right. Send another INN or register as a private person.

reg-name-prompt = What is your name? Write your surname, first name and patronymic, for example: { -name-example }
reg-name-error-one-word = Please write at least your surname and first name, separated by a space. For example: { -name-example }
reg-name-error-too-short = Please write your surname and first name in full (only the first name and patronymic may be initials). For example: { -name-example }
reg-name-error-too-long = That is too long: write only your surname, first name and patronymic. For example: { -name-example }
reg-name-error-bad-characters = A name may contain only letters, spaces, a hyphen and an apostrophe. For example: { -name-example }

reg-share-phone = 📱 Share my number
reg-phone-placeholder = +7 999 123-45-67
reg-phone-ask = Send your phone number: tap «{ reg-share-phone }» below or type it, for example { -phone-example }.
reg-phone-prompt = Nice to meet you, { $name }! { reg-phone-ask }
reg-phone-error-not-a-number = This does not look like a phone number. Type it in digits, for example { -phone-example }, or tap «{ reg-share-phone }».
reg-phone-error-too-short = The number is missing digits. Type it in full, for example { -phone-example }, or tap «{ reg-share-phone }».
reg-phone-error-too-long = The number has too many digits. Type it like this: { -phone-example }, or tap «{ reg-share-phone }».
reg-phone-error-invalid = There is no such number — check the code and the digits, for example { -phone-example }, or tap «{ reg-share-phone }».
reg-phone-not-yours = This is someone else's contact. Share your own number with «{ reg-share-phone }» or type it.
reg-phone-confirm-required = This number is already known to our support desk. To confirm it is yours, tap «{ reg-share-phone }» below — Telegram will send your account's number.

reg-okdesk-unavailable = The support desk is not answering right now. Please try again in a minute — what you entered is saved.
reg-retry = 🔄 Try again
reg-contact-rejected = The support desk did not accept these details. Try another phone number or start over: /start
reg-button-stale = This button no longer works.

reg-done = ✅ Done, you are registered!
reg-done-next = Now just write what happened and I will create a ticket. Or choose an action in the menu. To see or change your details: /profile

reg-card-kind = Type: { $kind ->
        [legal] company
       *[individual] private person
    }
reg-card-name = Name: { $name }
reg-card-phone = Phone: { $phone }
reg-card-company = Company: { $company }

reg-profile-title = <b>Your profile</b>
reg-profile-edit = ✏️ Change
reg-profile-logout = 🔓 Unbind
reg-logout-confirm = Unbind this Telegram account from your support desk profile? Your tickets and messages stay in the support desk; to use the bot again you will need to register again.
reg-logout-yes = Yes, unbind
reg-logout-no = No, keep it
reg-logout-kept = All right, nothing has changed.
reg-logout-done = Telegram is unbound from your profile. To register again, tap /start.

