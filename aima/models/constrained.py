"""JSON schemas for constrained decoding: one pydantic model, flattened for the decoders.

llguidance, llama.cpp's grammar and OpenAI-compatible servers all take a JSON schema, and several
of them handle ``$ref`` and ``title`` poorly; the stages' answer models (the vision-language
frame analysis, the fusion narrative) are turned into schemas here, one way.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def inlined_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of ``model`` with every ``$ref`` inlined and the titles dropped."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: inline(value) for key, value in node.items()
                    if not (key == "title" and isinstance(value, str))}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    return inline(schema)
