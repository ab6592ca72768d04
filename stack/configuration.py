"""The configuration files the local stack generates under ``var/``: Prometheus's scrape
jobs, Alertmanager's routes, Redis's settings, the demo cluster's kubeconfig and the stack's
variables for ``manage.py`` (``stack.env``). Supervisord's is in ``stack.supervision``."""

from __future__ import annotations

from pathlib import Path

import yaml

from demo.kube import kubeconfig
from stack import environment
from stack.programs import alertmanager_data, prometheus_folder, proxy_config_path


def prometheus_config(env: dict[str, str], replica: str | None = None) -> dict:
    """The scrape jobs, rules and Alertmanagers of the stack's Prometheus, or of its replica
    ``replica`` (a, b, ...) with ``STACK_REPLICAS``: every replica scrapes the same targets,
    loads the same rule files and sends its alerts to every Alertmanager peer."""
    replicas = environment.replica_count(env)

    def targets(port_envs: list[str]) -> list[str]:
        return [f"127.0.0.1:{env[name]}" for name in port_envs]

    def job(name: str, port_envs: list[str], **extra: object) -> dict:
        return {"job_name": name, "static_configs": [{"targets": targets(port_envs)}], **extra}

    external_labels = {"environment": "local-demo"}
    alerting: dict = {
        "alertmanagers": [
            {"static_configs": [{"targets": targets(environment.alertmanager_ports(replicas))}]}
        ]
    }
    if replica is not None:
        # The HA pair's series are told apart by this label where they meet (as in
        # deploy/prometheus/prometheus.yml) ...
        external_labels["replica"] = replica
        # ... but their alerts must be one alert to Alertmanager, which deduplicates by label
        # set: without the label both replicas' copies are the same alert.
        alerting["alert_relabel_configs"] = [{"action": "labeldrop", "regex": "replica"}]
    return {
        "global": {
            "scrape_interval": "15s",
            "evaluation_interval": "15s",
            "external_labels": external_labels,
        },
        # The panel exports its thresholds as rules into this folder (and reloads every
        # Prometheus replica).
        "rule_files": [str(environment.VAR_DIR / "prometheus" / "rules" / "*.yml")],
        "alerting": alerting,
        "scrape_configs": [
            job("prometheus", environment.prometheus_ports(replicas)),
            job("alertmanager", environment.alertmanager_ports(replicas)),
            # each web process itself, not through the proxy: its metrics are its own
            job("controlpanel", environment.web_ports(replicas), metrics_path="/metrics"),
            job("node", ["NODE_EXPORTER_PORT"]),
            job("redis", ["REDIS_EXPORTER_PORT"]),
            # The demo workload names its own job and instance labels (application, cluster
            # nodes, kube-state), so that history and live series share them.
            job("demo", ["DEMO_WORKLOAD_PORT"], honor_labels=True),
        ],
    }


def proxy_config(env: dict[str, str]) -> str:
    """HAProxy in front of the web replicas, as deploy/haproxy/haproxy.cfg in production:
    round robin, each replica health-checked on ``/health/db`` and taken out while it fails.
    A request whose connection a dead replica refuses is sent to another at once (``retries``
    with ``redispatch``), so a kill costs only the requests that replica was serving:
    sessions live in the database."""
    servers = [
        f"    server web-{n} 127.0.0.1:{env[name]} check inter 2s fall 2 rise 2"
        for n, name in enumerate(environment.web_ports(environment.replica_count(env)), start=1)
    ]
    return "\n".join(
        [
            "global",
            "    maxconn 1000",
            # its log (server up/down, one line a request) is the program's output
            "    log stdout format raw local0 info",
            "",
            "defaults",
            "    mode http",
            "    log global",
            "    option httplog",
            "    option dontlog-normal",
            "    timeout connect 2s",
            "    timeout client 60s",
            "    timeout server 60s",
            # a replica's first answer after its start may be slow on a busy machine: slow is
            # not dead
            "    timeout check 10s",
            "    option forwardfor",
            "    retries 2",
            "    option redispatch 1",
            # A killed replica's kept-alive connection closes without an answer: a GET sent on
            # it goes to another replica, as a browser would send it again (a POST may have
            # landed: see the backend).
            "    retry-on conn-failure empty-response",
            "    option httpchk GET /health/db",
            "    http-check send hdr Host 127.0.0.1",
            "",
            "frontend panel",
            f"    bind 127.0.0.1:{env['WEB_PORT']}",
            "    default_backend web",
            "",
            "backend web",
            "    balance roundrobin",
            "    http-request disable-l7-retry if !METH_GET",
            # which replica answered: bench/replicated_web.py counts them
            "    http-response set-header X-Served-By %[srv_name]",
            *servers,
            "",
        ]
    )


INHIBIT_WARNING_BY_CRITICAL = {
    "source_matchers": ['severity="critical"'],
    "target_matchers": ['severity="warning"'],
    "equal": [
        "alertname",
        "threshold",
        "tenant_tier",
        "instance",
        "namespace",
        "pod",
        "mountpoint",
    ],
}


def alertmanager_config(env: dict[str, str]) -> dict:
    """Routes by severity: every alert to the panel's webhook; critical alerts sooner, more
    often, and also by email to on-call when ``ALERT_EMAIL_TO`` (with ``EMAIL_HOST``) is set;
    both severities to a chat channel when ``ALERT_SLACK_WEBHOOK_URL`` is set."""
    webhook = {
        "url": f"{env['PANEL_URL']}/api/alertmanager/webhook",
        "send_resolved": True,
        "http_config": {
            "authorization": {
                "type": "Bearer",
                "credentials_file": env["ALERTMANAGER_WEBHOOK_TOKEN_FILE"],
            }
        },
    }
    chat = (
        [{"api_url": env["ALERT_SLACK_WEBHOOK_URL"], "send_resolved": True}]
        if env.get("ALERT_SLACK_WEBHOOK_URL")
        else []
    )
    email = (
        [
            {
                "to": env["ALERT_EMAIL_TO"],
                "from": env.get("DEFAULT_FROM_EMAIL", "monitoring@leanvibe.ai"),
                "smarthost": f"{env.get('EMAIL_HOST', '127.0.0.1')}:{env.get('EMAIL_PORT', '25')}",
                "require_tls": env.get("EMAIL_USE_TLS", "0").lower() in ("1", "true", "yes"),
                "send_resolved": True,
            }
        ]
        if env.get("ALERT_EMAIL_TO")
        else []
    )

    def receiver(name: str, *, with_email: bool) -> dict:
        out: dict = {"name": name, "webhook_configs": [webhook]}
        if chat:
            out["slack_configs"] = chat
        if with_email and email:
            out["email_configs"] = email
        return out

    return {
        "route": {
            "receiver": "controlpanel",
            "group_by": ["alertname", "severity", "tenant_tier"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                {
                    "matchers": ['severity="critical"'],
                    "receiver": "critical",
                    "group_wait": "10s",
                    "repeat_interval": "1h",
                },
                {"matchers": ['severity="warning"'], "receiver": "warning"},
            ],
        },
        "receivers": [
            {"name": "controlpanel", "webhook_configs": [webhook]},
            receiver("critical", with_email=True),
            receiver("warning", with_email=False),
        ],
        # Each threshold exports a warning and a critical rule; while critical fires, its
        # warning twin for the same series is noise.
        "inhibit_rules": [INHIBIT_WARNING_BY_CRITICAL],
    }


def redis_config(env: dict[str, str]) -> str:
    data = environment.VAR_DIR / "redis"
    # Snapshots keep queued Celery messages across a restart; no AOF, the broker is not a
    # system of record.
    return "\n".join(
        [
            f"port {env['REDIS_PORT']}",
            "bind 127.0.0.1",
            "protected-mode yes",
            f"dir {data}",
            "dbfilename dump.rdb",
            "save 300 10",
            "appendonly no",
            # The cache database has a ceiling, so hit rate and memory pressure are real. Only
            # keys with a TTL (the cache's) are evicted, never Celery's queues.
            "maxmemory 64mb",
            "maxmemory-policy volatile-lru",
            "daemonize no",
            'logfile ""',
            "",
        ]
    )


def write_configuration(env: dict[str, str]) -> list[Path]:
    """Write every generated file; returns their paths. Safe to run on every start."""
    var_dir = environment.VAR_DIR
    replicas = environment.replica_count(env)
    for folder in ("prometheus/data", "prometheus/rules", "alertmanager/data", "redis", "log"):
        (var_dir / folder).mkdir(parents=True, exist_ok=True)
    written: dict[Path, str] = {}
    if replicas == 1:
        written[var_dir / "prometheus" / "prometheus.yml"] = yaml.safe_dump(
            prometheus_config(env), sort_keys=False
        )
    else:
        for letter in environment.LETTERS[:replicas]:
            replica_dir = prometheus_folder(letter)
            (replica_dir / "data").mkdir(parents=True, exist_ok=True)
            alertmanager_data(letter).mkdir(parents=True, exist_ok=True)
            written[replica_dir / "prometheus.yml"] = yaml.safe_dump(
                prometheus_config(env, letter), sort_keys=False
            )
        proxy_config_path().parent.mkdir(parents=True, exist_ok=True)
        written[proxy_config_path()] = proxy_config(env)
    written |= {
        var_dir / "alertmanager" / "alertmanager.yml": yaml.safe_dump(
            alertmanager_config(env), sort_keys=False
        ),
        var_dir / "redis" / "redis.conf": redis_config(env),
        # The demo cluster's; the panel uses it unless KUBECONFIG names another.
        var_dir / "kubeconfig": kubeconfig(f"http://127.0.0.1:{env['DEMO_K8S_PORT']}"),
    }
    for path, text in written.items():
        header = "" if path.suffix == ".conf" else "# Generated by `make run`; edits are lost.\n"
        path.write_text(header + text)
    # For `manage.py` in a shell: the same settings as the stack's processes (see manage.py).
    stack_env = environment.env_file_path()
    names = environment.stack_variables()
    stack_env.write_text(environment.env_file({name: env.get(name, names[name]) for name in names}))
    return [*written, stack_env]
