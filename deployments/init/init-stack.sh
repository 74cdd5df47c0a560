#!/bin/sh
# One-shot setup of the AIMA stack (the compose service `init`; also run by hand or in CI against
# any Prefect server): migrations of the metadata database, the Milvus root password, the work
# pools, the global concurrency limit of the GPU stages, the blocks, and prefect.yaml's
# deployments. Every step creates what is missing and keeps what exists, so it is safe to run
# again, e.g. after an upgrade: `docker compose run --rm init`.
#
# Reads: the AIMA_* store settings, PREFECT_API_URL (+ PREFECT_API_AUTH_STRING), GPU_CONCURRENCY
# (default 1) and, optionally, RUNPOD_API_KEY, VASTAI_API_KEY and HF_TOKEN (saved as blocks). It
# prints no secret. Run it from the folder that holds prefect.yaml (default /opt/aima).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cd "${AIMA_PROJECT_DIR:-/opt/aima}"

step() { printf '\n== %s\n' "$*"; }

step "metadata database: migrations"
aima db upgrade

step "vector store: Milvus root password"
python "$here/milvus_root_password.py"

step "work pools, GPU concurrency limit, blocks"
python "$here/prefect_objects.py"

step "deployments of prefect.yaml"
prefect --no-prompt deploy --all

step "done"
