"""A small fusion-like JSON schema and chat the language-model tests share."""

from __future__ import annotations

SUMMARY_SCHEMA = {
    "title": "case summary",
    "type": "object",
    "properties": {
        "summary": {"type": "string", "maxLength": 160},
        "persons": {"type": "array", "items": {"type": "string", "maxLength": 24},
                    "maxItems": 4},
        "requires_human_review": {"type": "boolean"},
    },
    "required": ["summary", "persons", "requires_human_review"],
    "additionalProperties": False,
}

MESSAGES = [
    {"role": "system", "content": "You summarise evidence from a case as JSON with the keys "
     "summary, persons and requires_human_review."},
    {"role": "user", "content": "Evidence: [seg-1] 00:02 Alice says: open the door. "
     "[seg-2] 00:05 Bob says: it is locked. [kf-1] 00:07 two people stand in a kitchen."},
]
