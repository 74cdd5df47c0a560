"""Vision domain code without stores or Prefect: faces (quality, clustering) and the
vision-language question set with its answers (schema, prompt, parsing, review findings)."""
