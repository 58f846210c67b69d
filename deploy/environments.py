"""The environments the ERP is deployed to, and what differs between them.

Everything else (workloads, probes, security, the variables settings read) is
common and lives in :mod:`deploy.manifests` and :mod:`deploy.config`. Edit a value
here, run ``python -m deploy.render``, commit ``deploy/rendered/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from config.domain_apps import SPLITTABLE_APPS

# The repository Argo CD reads (this one); an operator sets it once.
REPO_URL = "https://git.example.com/erp/main.git"
REPO_REVISION = "main"
IMAGE = "registry.example.com/erp/erp"
# The tag an overlay starts with; afterwards CI owns it (deploy/bump_image.py) and
# re-rendering keeps whatever tag the committed overlay names.
INITIAL_TAG = "0.1.0"

ARGOCD_NAMESPACE = "argocd"
ARGOCD_PROJECT = "default"

# Secrets settings read but that a one-database deployment does not use: they stay
# unset there (settings then use the default database). Every secret variable of
# config/env.py must be either provided by an environment or listed here (per
# environment), or rendering fails: nothing can silently be left out.
ONE_DATABASE = {
    f"{app.upper()}_DATABASE_URL": "one database: the app's tables live in DATABASE_URL"
    for app in SPLITTABLE_APPS
}


# What an ERP pod may connect to besides DNS: the servers behind the URLs settings read
# (DATABASE_URL, CACHE_URL, CELERY_BROKER_URL), by the default port of their scheme.
# Those URLs are secrets, so their hosts are not known here and the egress policy
# allows these ports to any address (servers may be outside the cluster); an
# environment whose servers listen elsewhere sets its own ports.
BACKEND_PORTS = {"postgres": 5432, "redis": 6379, "amqp": 5672}
VAULT_PORT = 8200


@dataclass(frozen=True)
class Environment:
    name: str
    namespace: str
    host: str
    # "kubernetes": a Secret named `erp-secrets` (created out of band, never in Git),
    # mounted as files; "vault": the Vault agent injector renders the same files.
    secrets_from: Literal["kubernetes", "vault"]
    web_min_replicas: int
    web_max_replicas: int
    worker_replicas: int
    # Values for the ConfigMap that differ from config/env.py's production defaults.
    config: dict[str, str] = field(default_factory=dict)
    # Secret variables this environment does not set, with the reason.
    unused_secrets: dict[str, str] = field(default_factory=dict)
    vault_role: str = "erp"
    # KV v2 path whose keys are the variable names (SECRET_KEY, DATABASE_URL, ...).
    vault_path: str = ""
    tls_secret: str = "erp-tls"  # noqa: S105 - the TLS Secret's name
    ingress_class: str = "nginx"
    # Namespace of the ingress controller (only it may reach web pods) and of
    # Prometheus (may reach the metrics ports).
    ingress_namespace: str = "ingress-nginx"
    monitoring_namespace: str = "monitoring"
    # Egress: name -> TCP port ERP pods may connect to (see BACKEND_PORTS); and where
    # the cluster DNS runs (pods labelled k8s-app: kube-dns in this namespace).
    egress_ports: dict[str, int] = field(default_factory=lambda: dict(BACKEND_PORTS))
    dns_namespace: str = "kube-system"


ENVIRONMENTS: dict[str, Environment] = {
    env.name: env
    for env in (
        Environment(
            name="staging",
            namespace="erp-staging",
            host="erp.staging.example.com",
            secrets_from="kubernetes",
            web_min_replicas=1,
            web_max_replicas=3,
            worker_replicas=1,
            config={
                "ALLOWED_HOSTS": "erp.staging.example.com",
                "CSRF_TRUSTED_ORIGINS": "https://erp.staging.example.com",
                "USE_X_FORWARDED_PROTO": "true",
                "TRUSTED_PROXY_COUNT": "1",  # the ingress controller
                # A short HSTS max-age while the staging host name may still change.
                "SECURE_HSTS_SECONDS": "3600",
            },
            unused_secrets=ONE_DATABASE,
        ),
        Environment(
            name="production",
            namespace="erp",
            host="erp.example.com",
            secrets_from="vault",
            web_min_replicas=3,
            web_max_replicas=10,
            worker_replicas=3,
            config={
                "ALLOWED_HOSTS": "erp.example.com",
                "CSRF_TRUSTED_ORIGINS": "https://erp.example.com",
                "USE_X_FORWARDED_PROTO": "true",
                "TRUSTED_PROXY_COUNT": "1",  # the ingress controller
            },
            unused_secrets=ONE_DATABASE,
            vault_path="secret/data/erp/production",
            # The Vault agent (an init container of every pod) fetches the secrets.
            egress_ports={**BACKEND_PORTS, "vault": VAULT_PORT},
        ),
    )
}
