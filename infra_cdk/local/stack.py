"""The whole system on one machine: moto (server mode), PostgreSQL, the real handlers behind local servers.

What runs (see ``python -m infra_cdk.local``):
- moto on ``aws_endpoint`` with the tables, stream, bus, KMS key and Cognito pool the functions use;
- PostgreSQL: ``DATABASE_URL`` if set, else an embedded server under ``.local/pgdata``; migrated;
- the agent API on HTTPS requiring a client certificate of the local CA (``.local/certs/ca.pem``);
- a poller feeding the stream to the consumer in batches;
- the template's state machines in moto's Step Functions engine, their Lambda tasks running the
  handlers in this process (``infra_cdk.local.workflows``);
- the analytics rollup every few seconds (``infra_cdk.local.scheduler``); other schedules on demand.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"


class PortInUseError(RuntimeError):
    pass


def scheduled_functions() -> list[str]:
    """Functions the cloud runs on a schedule; locally they run on demand (`make local-run-schedule`)."""
    from infra_cdk.constants import FUNCTIONS, existing_functions

    return [name for name in existing_functions() if FUNCTIONS[name].schedule]


@dataclass
class Ports:
    agent: int = 8443
    admin: int = 8080
    aws: int = 5000

    @classmethod
    def from_env(cls) -> Ports:
        return cls(
            agent=int(os.environ.get("LOCAL_AGENT_PORT", "8443")),
            admin=int(os.environ.get("LOCAL_ADMIN_PORT", "8080")),
            aws=int(os.environ.get("LOCAL_AWS_PORT", "5000")),
        )


def _default_state_dir() -> Path:
    return Path(os.environ.get("LOCAL_STATE_DIR") or REPO_ROOT / ".local")


def shown(path: Path) -> str:
    """Paths in stack.json and logs: relative to the repository root when inside it."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path.resolve())


@dataclass
class LocalStack:
    state_dir: Path = field(default_factory=_default_state_dir)
    ports: Ports = field(default_factory=Ports.from_env)
    log: Any = print
    _stops: list[Any] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def certs_dir(self) -> Path:
        return self.state_dir / "certs"

    def start(self) -> dict[str, Any]:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> dict[str, Any]:
        self._check_ports_free()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.certs_dir, ignore_errors=True)
        self.certs_dir.mkdir(parents=True)
        (self.state_dir / "stack.json").unlink(missing_ok=True)
        endpoint = f"http://127.0.0.1:{self.ports.aws}"
        self._set_base_env(endpoint)
        self._start_moto()
        database_url = self._start_postgres()
        os.environ["DATABASE_URL"] = database_url

        from infra_cdk.constants import existing_functions
        from infra_cdk.local.admin_server import AdminGateway
        from infra_cdk.local.from_template import TemplateResources, synth_local_template
        from infra_cdk.local.pki import LocalCA
        from infra_cdk.local.seed import seed

        template = synth_local_template(self.state_dir / "cdk.out")
        from_template = TemplateResources(template, REGION)
        gateway = AdminGateway()
        env: dict[str, str] = {}
        # Every function runs in this process (behind a server, the poller, a schedule or a
        # workflow task), so the process has all their template environments.
        for function in existing_functions():
            env.update(from_template.function_environment(function))
        for powertools_own in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"):
            env.pop(powertools_own, None)
        pool, client = from_template.user_pool()
        # The functions fetch the pool's JWKS where moto serves it (in AWS: the public Cognito URL).
        env["JWKS_URL"] = f"{endpoint}/{pool}/.well-known/jwks.json"
        os.environ.update(env)
        self.log(f"resources   from the synthesized template: {', '.join(sorted(env))}")
        state_machines = self._start_workflows(from_template, endpoint)
        reports_bucket = from_template.output("ReportsBucket")
        ca = LocalCA("Workforce Local Device CA")
        (self.certs_dir / "ca.pem").write_text(ca.cert_pem)
        (self.certs_dir / "ca.key").write_text(ca.key_pem)
        server = ca.issue("localhost", server=True, dns_names=("localhost",))
        (self.certs_dir / "server.pem").write_text(server.cert_pem + ca.cert_pem)
        (self.certs_dir / "server.key").write_text(server.key_pem)
        demo = seed(gateway, pool, client, env["TENANTS_TABLE"], ca, self.certs_dir, REGION)

        agent_url = self._start_agent_api()
        admin_url = self._start_admin_api(gateway)
        self._start_poller(env["EVENTS_STREAM_NAME"])
        self._start_scheduler()
        self.info = {
            "agent_api": agent_url,
            "admin_api": admin_url,
            "aws_endpoint": endpoint,
            "region": REGION,
            "user_pool_id": pool,
            "user_pool_client_id": client,
            "ca_cert": shown(self.certs_dir / "ca.pem"),
            "reports_bucket": reports_bucket,
            "database_url": database_url,
            "resources": env,
            "state_machines": state_machines,
            "demo": demo.as_json(),
        }
        (self.state_dir / "stack.json").write_text(json.dumps(self.info, indent=2) + "\n")
        return self.info

    def stop(self) -> None:
        while self._stops:
            stop = self._stops.pop()
            try:
                stop()
            except Exception as err:  # keep stopping the rest; say what did not stop cleanly
                self.log(f"while stopping: {type(err).__name__}: {err}")

    # --- pieces -------------------------------------------------------------------------------
    def _check_ports_free(self) -> None:
        import socket

        for name, port in (
            ("LOCAL_AGENT_PORT", self.ports.agent),
            ("LOCAL_ADMIN_PORT", self.ports.admin),
            ("LOCAL_AWS_PORT", self.ports.aws),
        ):
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError as err:
                    raise PortInUseError(
                        f"port {port} is in use ({err.strerror}); stop what holds it or set {name}"
                    ) from err

    @staticmethod
    def _set_base_env(endpoint: str) -> None:
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 - moto accepts any credentials
            POWERTOOLS_TRACE_DISABLED="true",
            POWERTOOLS_METRICS_DISABLED="true",
            POWERTOOLS_METRICS_NAMESPACE="WorkforceMonitoring",
            POWERTOOLS_LOG_LEVEL=os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
        )
        os.environ.pop("AWS_PROFILE", None)
        os.environ.pop("AWS_SESSION_TOKEN", None)

    def _start_moto(self) -> None:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request is ours to log
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.ports.aws, verbose=False)
        server.start()
        self._stops.append(server.stop)
        self.log(f"moto        http://127.0.0.1:{self.ports.aws}")

    def _start_postgres(self) -> str:
        import psycopg

        from shared.db.migrate import apply

        url = os.environ.get("DATABASE_URL")
        if not url:
            import pgserver

            data_dir = self.state_dir / "pgdata"
            shutil.rmtree(data_dir, ignore_errors=True)  # moto starts empty; so does the database
            server = pgserver.get_server(data_dir, cleanup_mode="stop")
            self._stops.append(server.cleanup)
            url = server.get_uri()
            self.log(f"postgres    embedded, data in {shown(data_dir)}")
        else:
            self.log("postgres    DATABASE_URL")
        with psycopg.connect(url) as conn:
            applied = apply(conn)
        self.log(f"migrations  {', '.join(applied) if applied else 'up to date'}")
        return url

    def _start_agent_api(self) -> str:
        from functions.ingest_api import handler as ingest_api
        from infra_cdk.local.agent_server import AgentApiServer, tls_context

        ctx = tls_context(
            self.certs_dir / "server.pem", self.certs_dir / "server.key", self.certs_dir / "ca.pem"
        )
        ingest_api.deps.cache_clear()
        server = AgentApiServer("127.0.0.1", self.ports.agent, ingest_api.lambda_handler, ctx, log=self.log)
        server.start()
        self._stops.append(server.stop)
        url = f"https://127.0.0.1:{server.port}"
        self.log(f"agent API   {url} (mutual TLS, CA {shown(self.certs_dir / 'ca.pem')})")
        return url

    def _start_admin_api(self, gateway: Any) -> str:
        from infra_cdk.local.admin_server import AdminApiServer

        server = AdminApiServer("127.0.0.1", self.ports.admin, gateway, log=self.log)
        server.start()
        self._stops.append(server.stop)
        url = f"http://127.0.0.1:{server.port}"
        self.log(f"admin API   {url} (Cognito ID tokens: {', '.join(gateway.functions)})")
        return url

    def _start_workflows(self, from_template: Any, endpoint: str) -> dict[str, str]:
        """moto's Step Functions engine on, Lambda invocations dispatched to the in-process
        handlers, the template's state machines created with their definitions, and its
        EventBridge rules delivering to them."""
        from infra_cdk.local.workflows import InProcessLambda, RuleDelivery, enable_execution

        enable_execution(endpoint, self.ports.aws)
        dispatcher = InProcessLambda(log=self.log)
        dispatcher.start()
        self._stops.append(dispatcher.stop)
        delivery = RuleDelivery(dispatcher, log=self.log)
        delivery.start()
        self._stops.append(delivery.stop)
        machines: dict[str, str] = from_template.state_machines()
        rules = from_template.event_rules()
        self.log(
            f"workflows   {', '.join(sorted(machines)) or 'none in the template yet'}"
            f" (moto's Step Functions; Lambda tasks run in this process); {len(rules)} event rule(s)"
        )
        return machines

    def _start_scheduler(self) -> None:
        from infra_cdk.local.scheduler import BACKGROUND, LocalScheduler

        every = float(os.environ.get("LOCAL_SCHEDULE_INTERVAL_S", "0") or 0)
        functions = {n: every or s for n, s in BACKGROUND.items() if n in scheduled_functions()}
        scheduler = LocalScheduler(functions, log=self.log)
        scheduler.start()
        self._stops.append(scheduler.stop)
        self.log(
            f"schedules   {', '.join(f'{n} every {s:g} s' for n, s in functions.items())}; others on demand"
        )

    def _start_poller(self, stream_name: str) -> None:
        import boto3

        from functions.ingest_stream import handler as ingest_stream
        from infra_cdk.local.poller import StreamPoller
        from shared.db.pool import close_all

        ingest_stream.deps.cache_clear()
        poller = StreamPoller(
            boto3.client("kinesis", region_name=REGION),
            stream_name,
            ingest_stream.lambda_handler,
            self.state_dir / "dlq.jsonl",
            log=self.log,
        )
        poller.start()
        self._stops.append(close_all)
        self._stops.append(poller.stop)
        self.log(f"consumer    polling {stream_name}")
