"""The persona's greeting: what the model is asked so that the avatar speaks first.

Live has no "say this" message: the model speaks only in answer to input. So a new
conversation with a greeting starts with one client text turn asking the model to say the
greeting word for word. The wording is an instruction real Gemini Live models follow
(quoted text, "exactly", "nothing else"), and the emulator honours the same wording
(`emulator.brain.quoted_request`). The user never said it, so no user line is shown or
recorded for it; the model's answer is a turn like any other.
"""

from __future__ import annotations


def greeting_request(greeting: str) -> str:
    """The text turn asking the model to greet with `greeting`, word for word."""
    return (
        "Start the conversation by greeting the user. Say exactly the following words, "
        f'word for word, and nothing else: "{greeting.strip()}"'
    )
