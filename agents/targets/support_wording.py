"""The sample support agents' house wording, in two versions: the original and a paraphrase.

The paraphrase was written separately from the simulated user's and the judge's checks, with other words for
every phrase (no "Settings >", "order id", "refund", "human" where a synonym reads naturally), so tests can show
that the simulated user and the judge separate v1 from v2 by what the agents do, not by shared strings. A prompt
selects the paraphrase with a ``## Style`` section that asks for the "alternative house wording"."""

from __future__ import annotations

DEFAULT: dict[str, list[str]] = {
    "welcome": ["You're welcome, glad that's sorted.", "Happy to help. Have a good day!"],
    "acknowledge": ["I'm sorry about this, I understand how frustrating it is."],
    "patience": ["Please note that we handle many requests and ask for your patience."],
    "handoff": ["I'm handing you over to a human agent now; they will see this whole conversation and reply here "
                "within a few minutes."],
    "myself": ["I can definitely help you with this myself."],
    "cite": ["This follows {name}: {text}"],
    "pre": ["Thanks for contacting Nimbus support! Here is everything you need to know.",
            "Thank you for reaching out to us today! I have gone through your request in detail.",
            "Hello, and thanks for getting in touch with Nimbus support!"],
    "overview": ["Here is a step-by-step overview:"],
    "outro": ["If you have any other questions, feel free to reach out at any time. We are always happy to help, "
              "and we truly appreciate your patience and your business."],
    "closing": ["Anything else I can help with?", "Let me know if anything else comes up."],
    "help_refund": ["I can help with a full refund."],
    "help_reversal": ["I can help with the reversal of the duplicate charge."],
    "ask_id": ["What is your order id (it looks like ORD-12345)?"],
    "found": ["Thanks, I found order {order_id}. "],
    "done_refund": ["I've processed a full refund to your original payment method; it arrives within 5-7 business "
                    "days."],
    "done_reversal": ["I've reversed the duplicate charge on your card."],
    "pro_rata": ["That purchase was {days} days ago, past the {window}-day full-refund window, so I've refunded the "
                 "unused months pro rata instead of the full amount."],
    "intro_account": ["Let's get you back into your account."],
    "intro_export": ["You can export your data yourself."],
    "intro_cancel": ["You can cancel the subscription in a few clicks."],
    "intro_troubleshoot": ["Let's get that working again."],
    "good_question": ["Good question."],
    "clarify": ["Could you tell me a little more about what you need, for example which feature or order it "
                "concerns?"],
}
DEFAULT_STEPS: dict[str, list[str]] = {
    "account": ['Open the sign-in page and choose "Forgot password".',
                "Follow the reset link we email you (check spam if it has not arrived in 5 minutes).",
                "Sign in with the new password and re-enable two-factor authentication if asked."],
    "export": ["Go to Settings > Export.", "Choose CSV or JSON and start the export.",
               "Download the file from the link we email you."],
    "cancel": ["Open Settings > Billing.", 'Choose "Cancel subscription" and confirm.'],
    "troubleshoot": ["Sign out and back in, then reload the page.", "Update the app or clear the browser cache.",
                     "If it still fails, send me the exact error message and when it started."],
}
DEFAULT_PADDING = ["Double-check that you are signed in to the correct workspace.",
                   "Make sure your browser or desktop app is on the latest version.",
                   "Check our status page for any ongoing incidents in your region.",
                   "Review the help-center articles related to your question for more background.",
                   "Keep an eye on your inbox, because confirmations are sent by email.",
                   "Reach out again at any time if something still looks wrong."]

PARAPHRASED: dict[str, list[str]] = {
    "welcome": ["Glad we got there, take care.", "My pleasure, enjoy the rest of your day."],
    "acknowledge": ["That sounds really annoying, and I apologise for the trouble it has caused you."],
    "patience": ["Our team is dealing with a high volume of messages at the moment."],
    "handoff": ["A colleague from our support team is taking over this chat right now; they can read everything "
                "above and will answer you here shortly."],
    "myself": ["There is no need to wait for anyone else, I can sort this out with you."],
    "cite": ["As set out in our {name}: {text}"],
    "pre": ["Hi there, and welcome to the Nimbus help desk! Let me cover this fully for you.",
            "Hello! I appreciate you writing in, and I have looked at everything you mentioned.",
            "Greetings from the Nimbus help desk, thanks for the message!"],
    "overview": ["What to do, one thing at a time:"],
    "outro": ["Should anything else puzzle you, just write back whenever suits you. We are glad to assist, and we "
              "value your time and your custom."],
    "closing": ["Is there something more you need?", "Just say if another question pops up."],
    "help_refund": ["Getting your money returned is something I can arrange."],
    "help_reversal": ["I can get that second payment taken back for you."],
    "ask_id": ["Which purchase is this about? The reference on your receipt starts with ORD-."],
    "found": ["Thank you, purchase {order_id} is on my screen. "],
    "done_refund": ["The full amount is on its way back to the card you paid with; expect it within a week or so."],
    "done_reversal": ["The second payment has been taken back and your card will show it cancelled."],
    "pro_rata": ["You bought it {days} days ago, beyond the first {window} days, so what comes back to you is the "
                 "share for the months you haven't used, not the whole price."],
    "intro_account": ["We'll have you signed in again in no time."],
    "intro_export": ["Taking a copy of everything is something you can do on your own."],
    "intro_cancel": ["Ending the plan only takes a moment."],
    "intro_troubleshoot": ["We'll get this behaving again."],
    "good_question": ["Happy to clarify."],
    "clarify": ["Can you say a bit more, for instance which part of the product or which purchase you mean?"],
}
PARAPHRASED_STEPS: dict[str, list[str]] = {
    "account": ['On the login screen, pick "Forgot password".',
                "Use the link that arrives by mail (look in junk if nothing shows up within five minutes).",
                "Log in with your fresh password and switch two-factor back on when prompted."],
    "export": ["Open Preferences and pick the Data tab.", "Select the CSV or JSON format and press Start.",
               "Grab the file from the download link we mail to you."],
    "cancel": ["Open Preferences, then Plan and payments.", 'Press "End plan" and confirm it.'],
    "troubleshoot": ["Log out and in again, then refresh.", "Install the newest version of the app or empty the "
                     "browser cache.", "If the problem stays, paste me the exact message you see and when it "
                     "began."],
}
PARAPHRASED_PADDING = ["Confirm you are in the right workspace.", "See that the app or browser is fully updated.",
                       "Have a look at our status page for outages near you.",
                       "The help centre has background articles on this topic.",
                       "Watch your mailbox: confirmations arrive by email.",
                       "Write back whenever something still seems off."]

WORDINGS = {"default": (DEFAULT, DEFAULT_STEPS, DEFAULT_PADDING),
            "paraphrased": (PARAPHRASED, PARAPHRASED_STEPS, PARAPHRASED_PADDING)}
