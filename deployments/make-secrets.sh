#!/bin/sh
# Write the stack's secrets, once: .env (every password of .env.example, random) and secrets/
# (the gateway's first user and a self-signed TLS certificate for PUBLIC_HOST). Existing files
# are kept: run it again to fill in only what is missing. Needs openssl.
#
#   deployments/make-secrets.sh [FOLDER]        # default: the repository root
#   PUBLIC_HOST=aima.example.org GATEWAY_USER=alice deployments/make-secrets.sh
#
# Prints the gateway user's password once; nothing else is printed. Replace the self-signed
# certificate with a real one (secrets/tls.crt, secrets/tls.key) or use ACME (docs/deploy.md).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
target=${1:-$root}
host=${PUBLIC_HOST:-localhost}
user=${GATEWAY_USER:-admin}
umask 077
mkdir -p "$target/secrets"

hex() { openssl rand -hex "${1:-24}"; }

if [ -e "$target/.env" ]; then
    echo "$target/.env exists: kept"
else
    sed -e "s|^PUBLIC_HOST=.*|PUBLIC_HOST=$host|" \
        -e "s|^POSTGRES_PASSWORD=.*|POSTGRES_PASSWORD=$(hex)|" \
        -e "s|^METADATA_DB_PASSWORD=.*|METADATA_DB_PASSWORD=$(hex)|" \
        -e "s|^PREFECT_DB_PASSWORD=.*|PREFECT_DB_PASSWORD=$(hex)|" \
        -e "s|^MONITOR_DB_PASSWORD=.*|MONITOR_DB_PASSWORD=$(hex)|" \
        -e "s|^PREFECT_AUTH_STRING=.*|PREFECT_AUTH_STRING=aima-worker:$(hex)|" \
        -e "s|^REDIS_PASSWORD=.*|REDIS_PASSWORD=$(hex)|" \
        -e "s|^MONGO_ROOT_PASSWORD=.*|MONGO_ROOT_PASSWORD=$(hex)|" \
        -e "s|^MONGO_AIMA_PASSWORD=.*|MONGO_AIMA_PASSWORD=$(hex)|" \
        -e "s|^MILVUS_ROOT_PASSWORD=.*|MILVUS_ROOT_PASSWORD=$(hex)|" \
        -e "s|^MINIO_ROOT_USER=.*|MINIO_ROOT_USER=aima-admin|" \
        -e "s|^MINIO_ROOT_PASSWORD=.*|MINIO_ROOT_PASSWORD=$(hex)|" \
        -e "s|^MINIO_AIMA_SECRET_KEY=.*|MINIO_AIMA_SECRET_KEY=$(hex)|" \
        -e "s|^MINIO_KMS_SECRET_KEY=.*|MINIO_KMS_SECRET_KEY=aima-key:$(openssl rand -base64 32)|" \
        -e "s|^GRAFANA_ADMIN_PASSWORD=.*|GRAFANA_ADMIN_PASSWORD=$(hex)|" \
        "$root/.env.example" > "$target/.env"
    echo "$target/.env written"
fi

users="$target/secrets/gateway-users.htpasswd"
if [ -e "$users" ]; then
    echo "$users exists: kept"
else
    password=$(hex 12)
    printf '%s:%s\n' "$user" "$(openssl passwd -apr1 "$password")" > "$users"
    echo "gateway user $user, password $password (written to $users, hashed)"
fi

if [ -e "$target/secrets/tls.crt" ]; then
    echo "$target/secrets/tls.crt exists: kept"
else
    openssl req -x509 -newkey rsa:3072 -sha256 -days 825 -nodes -subj "/CN=$host" \
        -addext "subjectAltName=DNS:$host" \
        -keyout "$target/secrets/tls.key" -out "$target/secrets/tls.crt" 2>/dev/null
    echo "self-signed TLS certificate for $host written to $target/secrets/"
fi
