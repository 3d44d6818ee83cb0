"""The preview chat script's strings (templates/static/bots/preview.js), in the page's language.

The preview page embeds them as JSON (`preview_text` through `json_script`); the script looks each
text up by its English wording, which is also what it shows when a text is missing. Placeholders are
`%(name)s`, filled in by the script.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

PREVIEW_TEXT: dict[str, Promise] = {
    # The answer as it is generated.
    "Thinking…": _("Thinking…"),
    "Starting this step again…": _("Starting this step again…"),
    "The model call failed (%(reason)s); trying again…": _("The model call failed (%(reason)s); trying again…"),
    "The model call failed (%(reason)s); trying again in %(wait)s…": _(
        "The model call failed (%(reason)s); trying again in %(wait)s…"
    ),
    "Stopped.": _("Stopped."),
    "Something went wrong.": _("Something went wrong."),
    # Tools and their confirmations.
    "Calling %(name)s…": _("Calling %(name)s…"),
    "%(name)s needs your approval": _("%(name)s needs your approval"),
    "%(name)s failed": _("%(name)s failed"),
    "%(name)s failed (%(error)s)": _("%(name)s failed (%(error)s)"),
    "details": _("details"),
    "Arguments": _("Arguments"),
    "Result": _("Result"),
    "Approve": _("Approve"),
    "Deny": _("Deny"),
    "Approving…": _("Approving…"),
    "Denying…": _("Denying…"),
    "Approved": _("Approved"),
    "Denied": _("Denied"),
    "Waiting for your decision…": _("Waiting for your decision…"),
    # Sources.
    "Sources (%(count)s)": _("Sources (%(count)s)"),
    "Source %(n)s: %(name)s": _("Source %(n)s: %(name)s"),
    "document": _("document"),
    "page %(page)s": _("page %(page)s"),
    "score %(score)s": _("score %(score)s"),
    # The answer's footer.
    "queue %(time)s": _("queue %(time)s"),
    "first token %(time)s": _("first token %(time)s"),
    "total %(time)s": _("total %(time)s"),
    "%(input)s in / %(output)s out tokens": _("%(input)s in / %(output)s out tokens"),
    "trace": _("trace"),
    "Good answer": _("Good answer"),
    "Bad answer": _("Bad answer"),
    "thanks": _("thanks"),
    "noted": _("noted"),
    # Variables.
    "Required.": _("Required."),
    "Enter a number.": _("Enter a number."),
    # The connection and the server.
    "Connection lost; reconnecting…": _("Connection lost; reconnecting…"),
    "Connection lost; reconnecting (attempt %(attempt)s)…": _("Connection lost; reconnecting (attempt %(attempt)s)…"),
    "Reconnecting…": _("Reconnecting…"),
    "The answer will be in the conversation's history.": _("The answer will be in the conversation's history."),
    "Could not stop the answer: %(error)s": _("Could not stop the answer: %(error)s"),
    "This answer is no longer in progress.": _("This answer is no longer in progress."),
    # Raised by chat/core.js, which the preview shares with the widget.
    "The server answered %(status)s.": _("The server answered %(status)s."),
    "The connection was lost before the server named the message.": _(
        "The connection was lost before the server named the message."
    ),
    "Lost the connection to the server and could not reconnect.": _(
        "Lost the connection to the server and could not reconnect."
    ),
}
