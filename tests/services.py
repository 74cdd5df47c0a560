"""Real servers for the test session, on loopback, in temporary directories.

Each class starts one server on free ports, waits until it answers, and stops it (also when tests
fail: the fixtures in conftest.py stop them in a finaliser). What they need is installed by
``scripts/bootstrap`` (Python packages of the ``dev`` extra, Debian's PostgreSQL).

Nothing here is a fake: PostgreSQL 15, Milvus 2.3 standalone (with embedded etcd), moto's S3
server and SecantusDB (a MongoDB wire-protocol server built on WiredTiger) are the real programs.
moto's server checks every request's signature, as S3 does; it gets one addition here (it checks
presigned URLs too, which moto leaves unchecked): see :class:`S3Server`.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent  # console scripts of this virtualenv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout_s: float, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not open port {port} within {timeout_s} s:\n{_tail(log)}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout_s: float = 20) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
    except ProcessLookupError:
        pass


class Server:
    name = "server"

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"aima-test-{self.name}-"))
        self.log = self.dir / "server.log"
        self.process: subprocess.Popen | None = None

    def _spawn(self, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.dir,
                env={**os.environ, **(env or {})},
                start_new_session=True,  # its own process group: stopped as a whole
            )
        return self.process

    def stop(self) -> None:
        _stop(self.process)
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresServer(Server):
    """A PostgreSQL cluster with password (SCRAM) authentication on TCP."""

    name = "postgres"
    user = "postgres"

    def __init__(self) -> None:
        super().__init__()
        self.port = free_port()
        self.password = secrets.token_urlsafe(12)
        self.data = self.dir / "data"
        self._bin = _postgres_bin()

    def _as_postgres(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        return ["runuser", "-u", "postgres", "--", *argv]  # initdb refuses to run as root

    def start(self) -> PostgresServer:
        pwfile = self.dir / "pw"
        pwfile.write_text(self.password)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chmod(self.dir, 0o755)
            for path in (self.dir, pwfile):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        subprocess.run(
            self._as_postgres([
                str(self._bin / "initdb"), "-D", str(self.data), "-U", self.user,
                "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}",
                "--no-sync", "-E", "UTF8", "--locale=C",
            ]),
            check=True, capture_output=True,
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            self._as_postgres([
                str(self._bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                "-l", str(self.log), "-w", "-t", "60", "start",
            ]),
            check=True, capture_output=True,
        )
        return self

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        secret = self.password if password is None else password
        return f"postgresql+psycopg://{self.user}:{secret}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = "aima_" + secrets.token_hex(4)
        dsn = f"host=127.0.0.1 port={self.port} user={self.user} password={self.password} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                self._as_postgres([str(self._bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
                capture_output=True,
            )
        shutil.rmtree(self.dir, ignore_errors=True)


def _postgres_bin() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not candidates:
        raise RuntimeError("PostgreSQL is not installed: run scripts/bootstrap")
    return candidates[-1].parent


class MilvusServer(Server):
    """Milvus 2.3 standalone (the ``milvus`` package) with every port chosen free."""

    name = "milvus"

    def start(self) -> MilvusServer:
        self.port = free_port()
        ports = {
            "--proxy-port": self.port,
            "--etcd-port": free_port(),
            "--root-coord-port": free_port(),
            "--proxy-internal-port": free_port(),
            "--query-coord-port": free_port(),
            "--query-node-port": free_port(),
            "--index-coord-port": free_port(),
            "--index-node-port": free_port(),
            "--data-coord-port": free_port(),
            "--data-node-port": free_port(),
        }
        argv = [str(BIN / "milvus-server"), "--data", str(self.dir / "data")]
        for flag, port in ports.items():
            argv += [flag, str(port)]
        self._spawn(argv)
        wait_for_port(self.port, 180, self.process, self.log)
        self._wait_ready(180)
        return self

    def _wait_ready(self, timeout_s: float) -> None:
        from pymilvus import MilvusClient

        deadline = time.monotonic() + timeout_s
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                client = MilvusClient(uri=self.url, timeout=5)
                client.list_collections()
                client.close()
                return
            except Exception as exc:  # not ready yet
                last = exc
                time.sleep(1)
        raise RuntimeError(f"Milvus not ready after {timeout_s} s: {last}\n{_tail(self.log)}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        _stop(self.process, signal.SIGINT, timeout_s=30)  # SIGTERM leaves a child running
        shutil.rmtree(self.dir, ignore_errors=True)


class S3Server(Server):
    """moto's S3 server (in memory), the S3 wire protocol the minio client speaks.

    Like a real S3 it checks every request: a request that is unsigned, or signed with a key it
    does not know or with the wrong secret, is refused with 403. Each server makes one IAM user
    that may do everything in S3 (``access_key``/``secret_key``, new for every server). moto
    checks signatures in the ``Authorization`` header itself; presigned URLs (signature in the
    query string) it does not check, so the server runs with :func:`_moto_checks_presigned_urls`.
    """

    name = "s3"
    region = "us-east-1"

    def __init__(self) -> None:
        super().__init__()
        self.access_key = ""
        self.secret_key = ""

    def start(self) -> S3Server:
        self.port = free_port()
        self._spawn([sys.executable, str(Path(__file__).resolve()), "moto-s3",
                     "-H", "127.0.0.1", "-p", str(self.port)])
        wait_for_port(self.port, 60, self.process, self.log)
        self._create_user()
        return self

    def _create_user(self) -> None:
        import boto3
        import httpx

        # moto authenticates nothing until told to: the user is made, then checking is turned on.
        iam = boto3.client("iam", endpoint_url=self.endpoint, region_name=self.region,
                           aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        iam.create_user(UserName="aima")
        iam.put_user_policy(UserName="aima", PolicyName="s3-all", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        }))
        key = iam.create_access_key(UserName="aima")["AccessKey"]
        self.access_key, self.secret_key = key["AccessKeyId"], key["SecretAccessKey"]
        response = httpx.post(f"{self.endpoint}/moto-api/reset-auth", content=b"0")
        response.raise_for_status()
        # From here on every request is checked: an unsigned one must be refused.
        if httpx.get(f"{self.endpoint}/").status_code != 403:
            raise RuntimeError(f"moto does not check credentials:\n{_tail(self.log)}")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _moto_checks_presigned_urls() -> None:
    """Teach moto's request check (``moto.iam.access_control.S3IAMRequest``) the query-string
    form of AWS Signature Version 4 that presigned URLs use, as S3 checks it: the signature is
    recomputed with botocore's presigning code from the URL's own parameters and the key's secret,
    an expired URL is refused, and a request with no signature at all is refused (AccessDenied).
    Header-signed requests are left to moto."""
    from datetime import datetime, timedelta, timezone
    from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

    import moto.iam.access_control as access_control
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest

    class S3RequestCheck(access_control.S3IAMRequest):
        def __init__(self, account_id, method, path, data, body, headers, action):
            self._query = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
            self._presigned = "Authorization" not in headers and "X-Amz-Signature" in self._query
            if "Authorization" not in headers and not self._presigned:
                self._data = data
                self._raise_access_denied()  # anonymous
            if self._presigned:
                query = self._query
                headers = {**dict(headers.items()), "Authorization": (
                    f"AWS4-HMAC-SHA256 Credential={query.get('X-Amz-Credential', '')}, "
                    f"SignedHeaders={query.get('X-Amz-SignedHeaders', '')}, "
                    f"Signature={query['X-Amz-Signature']}")}
            super().__init__(account_id, method, path, data, body, headers, action)

        def _calculate_signature(self) -> str:
            if not self._presigned:
                return super()._calculate_signature()
            query = self._query
            try:
                signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
                expires_s = int(query["X-Amz-Expires"])
            except (KeyError, ValueError):
                self._raise_access_denied()
            if signed_at.replace(tzinfo=timezone.utc) + timedelta(seconds=expires_s) < datetime.now(
                    timezone.utc):
                self._raise_access_denied()  # S3: "Request has expired"
            # moto hands over the path and query decoded: encode them again as the client did
            parts = urlsplit(self._path)
            path = quote(unquote(parts.path))
            unsigned = urlencode([(name, value) for name, value in
                                  parse_qsl(parts.query, keep_blank_values=True)
                                  if name != "X-Amz-Signature"], quote_via=quote, safe="-_.~")
            received = {name.lower(): value for name, value in self._headers.items()}
            signed_headers = {name: received.get(name, "")
                              for name in query.get("X-Amz-SignedHeaders", "host").split(";")}
            request = AWSRequest(method=self._method, url=f"http://s3{path}?{unsigned}",
                                 headers=signed_headers)
            request.context["timestamp"] = query["X-Amz-Date"]
            auth = S3SigV4QueryAuth(self._access_key.create_credentials(), self._service,
                                    self._region, expires=expires_s)
            canonical = auth.canonical_request(request)
            return auth.signature(auth.string_to_sign(request, canonical), request)

    access_control.S3IAMRequest = S3RequestCheck


class MongoServer(Server):
    """SecantusDB: a MongoDB wire-protocol server with WiredTiger storage."""

    name = "mongo"

    def start(self) -> MongoServer:
        self.port = free_port()
        self._spawn([
            str(BIN / "secantusd-py"), "--host", "127.0.0.1", "--port", str(self.port),
            "--storage-path", str(self.dir / "data"),
        ])
        wait_for_port(self.port, 60, self.process, self.log)
        return self

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"


if __name__ == "__main__" and sys.argv[1:2] == ["moto-s3"]:
    # The S3 server process of S3Server: moto's own server, checking presigned URLs too. This
    # folder (tests/) is not meant to be importable from the server: take it off the path.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    _moto_checks_presigned_urls()
    from moto.server import main

    main(sys.argv[2:])
