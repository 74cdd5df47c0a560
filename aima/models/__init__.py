"""Model adapters (speech recognition, voices, faces, vision-language, LLM) behind small protocols."""
