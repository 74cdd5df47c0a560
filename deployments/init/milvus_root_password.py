"""Give Milvus's root user the password that AIMA_VECTORS_URL carries (http://root:PASSWORD@host).

Milvus starts with authentication on (COMMON_SECURITY_AUTHORIZATIONENABLED in docker-compose.yml)
and a root user whose password is Milvus's public default. This replaces it on the first start and
does nothing after that. Neither password is printed.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit

MILVUS_DEFAULT_ROOT_PASSWORD = "Milvus"  # what every new Milvus starts with


def main() -> int:
    parts = urlsplit(os.environ.get("AIMA_VECTORS_URL", ""))
    if parts.scheme not in ("http", "https") or not parts.password:
        print("AIMA_VECTORS_URL names no Milvus server with a password: nothing to do")
        return 0
    from pymilvus import MilvusClient

    address = f"{parts.scheme}://{parts.hostname}:{parts.port or 19530}"
    user = parts.username or "root"
    if _accepts(address, f"{user}:{parts.password}"):
        print(f"Milvus at {parts.hostname} accepts AIMA's password for {user}")
        return 0
    if not _accepts(address, f"{user}:{MILVUS_DEFAULT_ROOT_PASSWORD}"):
        print(f"Milvus at {parts.hostname} accepts neither AIMA's password nor the default one "
              f"for {user}: set the password of AIMA_VECTORS_URL to the one Milvus has",
              file=sys.stderr)
        return 1
    client = MilvusClient(uri=address, token=f"{user}:{MILVUS_DEFAULT_ROOT_PASSWORD}", timeout=30)
    client.update_password(user, MILVUS_DEFAULT_ROOT_PASSWORD, parts.password)
    client.close()
    print(f"Milvus at {parts.hostname}: password of {user} replaced")
    return 0


def _accepts(address: str, token: str) -> bool:
    from pymilvus import MilvusClient

    try:
        client = MilvusClient(uri=address, token=token, timeout=30)
        client.list_collections()
        client.close()
        return True
    except Exception:  # MilvusException: authentication failed (its text may hold the token)
        return False


if __name__ == "__main__":
    sys.exit(main())
