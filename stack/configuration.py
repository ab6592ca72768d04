"""The configuration files the local stack generates under ``var/``: Prometheus's scrape
jobs, Alertmanager's routes, Redis's settings, the demo cluster's kubeconfig and the stack's
variables for ``manage.py`` (``stack.env``). Supervisord's is in ``stack.supervision``."""

from __future__ import annotations

from pathlib import Path

import yaml

from demo.kube import kubeconfig
from stack import environment


def prometheus_config(env: dict[str, str]) -> dict:
    def job(name: str, port_env: str, **extra: object) -> dict:
        return {
            "job_name": name,
            "static_configs": [{"targets": [f"127.0.0.1:{env[port_env]}"]}],
            **extra,
        }

    return {
        "global": {
            "scrape_interval": "15s",
            "evaluation_interval": "15s",
            "external_labels": {"environment": "local-demo"},
        },
        # The panel exports its thresholds as rules into this folder (and reloads Prometheus).
        "rule_files": [str(environment.VAR_DIR / "prometheus" / "rules" / "*.yml")],
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [f"127.0.0.1:{env['ALERTMANAGER_PORT']}"]}]}
            ]
        },
        "scrape_configs": [
            job("prometheus", "PROMETHEUS_PORT"),
            job("alertmanager", "ALERTMANAGER_PORT"),
            job("controlpanel", "WEB_PORT", metrics_path="/metrics"),
            job("node", "NODE_EXPORTER_PORT"),
            job("redis", "REDIS_EXPORTER_PORT"),
            # The demo workload names its own job and instance labels (application, cluster
            # nodes, kube-state), so that history and live series share them.
            job("demo", "DEMO_WORKLOAD_PORT", honor_labels=True),
        ],
    }


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
    for folder in ("prometheus/data", "prometheus/rules", "alertmanager/data", "redis", "log"):
        (var_dir / folder).mkdir(parents=True, exist_ok=True)
    written = {
        var_dir / "prometheus" / "prometheus.yml": yaml.safe_dump(
            prometheus_config(env), sort_keys=False
        ),
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
