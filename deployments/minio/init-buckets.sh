#!/bin/sh
# Every start of the stack (the compose service minio-init, image minio/mc): AIMA's buckets, with
# server-side encryption (SSE-S3, the key of MINIO_KMS_SECRET_KEY) as each bucket's default, and
# AIMA's own access key, limited by aima-policy.json to its buckets, and the policy
# aima-inbox-upload for people who upload media. Safe to run again.
#
#   aima-media  AIMA's objects (AIMA_OBJECTS_URL): originals, keyframes, audio, exports
#   aima-inbox  media uploaded in the MinIO console to analyse: aima analyze s3://aima-inbox/CASE/
#   milvus      Milvus's segments and indexes
#
# Reads MC_HOST_local (the root user's URL), MINIO_AIMA_ACCESS_KEY and MINIO_AIMA_SECRET_KEY;
# prints no secret.
set -eu

for bucket in aima-media aima-inbox milvus; do
    mc mb --ignore-existing "local/$bucket"
    mc encrypt set sse-s3 "local/$bucket"
done

mc admin policy create local aima-buckets /init/aima-policy.json
# For people who upload in the console: give their MinIO users this policy (docs/deploy.md).
mc admin policy create local aima-inbox-upload /init/inbox-upload-policy.json
# `user add` sets the secret of an existing user too: a changed .env takes effect on restart.
mc admin user add local "$MINIO_AIMA_ACCESS_KEY" "$MINIO_AIMA_SECRET_KEY" >/dev/null
if mc admin user info local "$MINIO_AIMA_ACCESS_KEY" | grep -q "aima-buckets"; then
    echo "policy aima-buckets is attached to $MINIO_AIMA_ACCESS_KEY"
else
    mc admin policy attach local aima-buckets --user "$MINIO_AIMA_ACCESS_KEY"
fi
echo "buckets ready, encrypted at rest"
