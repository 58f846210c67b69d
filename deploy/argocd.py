"""Argo CD Application manifests: one per environment, and a root application
(app of apps) that manages them. The client library has no models for custom
resources; these are validated against the vendored CRD schema instead
(deploy/schemas/, ``python -m deploy.validate``)."""

from __future__ import annotations

from deploy import environments
from deploy.environments import Environment

ROOT_NAME = "erp-root"
RENDERED = "deploy/rendered"


def application(name: str, path: str, namespace: str, *, create_namespace: bool) -> dict:
    sync_options = ["CreateNamespace=true"] if create_namespace else []
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": environments.ARGOCD_NAMESPACE,
            # Deleting an Application deletes what it deployed, not just the record.
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": environments.ARGOCD_PROJECT,
            "source": {
                "repoURL": environments.REPO_URL,
                "targetRevision": environments.REPO_REVISION,
                "path": path,
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": {
                # Git is the truth: merged changes are applied, drift is undone and
                # objects removed from Git are deleted.
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": [*sync_options, "PruneLast=true"],
                "retry": {
                    "limit": 3,
                    "backoff": {"duration": "30s", "factor": 2, "maxDuration": "5m"},
                },
            },
        },
    }


def environment_app(env: Environment) -> dict:
    return application(
        f"erp-{env.name}", f"{RENDERED}/overlays/{env.name}", env.namespace, create_namespace=True
    )


def root_app() -> dict:
    return application(
        ROOT_NAME, f"{RENDERED}/argocd/apps", environments.ARGOCD_NAMESPACE, create_namespace=False
    )
