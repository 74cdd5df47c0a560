"""Media handling: type sniffing, validation, probing, keyframes, audio and thumbnails (no Prefect)."""
