"""What the workloads promise, read from what `kubectl kustomize` builds out of
each committed overlay (what Argo CD applies)."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from deploy import config, environments, manifests
from deploy.environments import ENVIRONMENTS
from deploy.render import current_tag
from tests.deploy.conftest import configmap, find, generated, one, pod_templates

ENVS = sorted(ENVIRONMENTS)
WORKLOADS = ("erp-web", "erp-worker", "erp-worker-periodic", "erp-beat", "erp-migrate")


def containers(objects):
    for name, template in pod_templates(objects).items():
        for container in template["spec"]["containers"]:
            yield name, template, container


def wave(obj) -> int:
    return int((obj["metadata"].get("annotations") or {}).get("argocd.argoproj.io/sync-wave", "0"))


@pytest.mark.parametrize("env_name", ENVS)
def test_the_overlay_builds_every_workload(built, env_name):
    objects = built[env_name]
    assert set(pod_templates(objects)) == set(WORKLOADS)
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    for expected in [
        ("Service", "erp-web"),
        ("HorizontalPodAutoscaler", "erp-web"),
        ("PodDisruptionBudget", "erp-web"),
        ("Ingress", "erp"),
        ("ServiceAccount", "erp"),
        ("ServiceAccount", "erp-migrate"),
        ("ConfigMap", config.MIGRATE_CONFIGMAP_NAME),
    ]:
        assert expected in kinds
    assert len(find(objects, "ConfigMap")) == 2
    assert {o["metadata"]["namespace"] for o in objects} == {ENVIRONMENTS[env_name].namespace}


@pytest.mark.parametrize("env_name", ENVS)
def test_every_container_runs_the_released_image_with_limits_and_locked_down(built, env_name):
    image = f"{environments.IMAGE}:{current_tag(env_name)}"
    for name, template, container in containers(built[env_name]):
        where = f"{env_name} {name}/{container['name']}"
        assert container["image"] == image, where
        resources = container["resources"]
        for kind in ("cpu", "memory"):
            assert resources["requests"][kind] and resources["limits"][kind], where
        security = container["securityContext"]
        assert security["runAsNonRoot"] is True, where
        assert security["runAsUser"] == manifests.UID, where
        assert security["readOnlyRootFilesystem"] is True, where
        assert security["allowPrivilegeEscalation"] is False, where
        assert security["capabilities"] == {"drop": ["ALL"]}, where
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        # The migrate Job has its own, a PreSync hook like the Job (see below).
        expected_account = manifests.MIGRATE_SERVICE_ACCOUNT if name == "erp-migrate" else "erp"
        assert pod["serviceAccountName"] == expected_account, where
        account = one(built[env_name], "ServiceAccount", expected_account)
        assert account["automountServiceAccountToken"] is False, "a token only where a pod asks for one"
        # The root filesystem is read-only: /tmp is an emptyDir.
        tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
        assert tmp and any(v["name"] == tmp[0]["name"] and "emptyDir" in v for v in pod["volumes"]), where


@pytest.mark.parametrize("env_name", ENVS)
def test_probes(built, env_name):
    objects = built[env_name]
    probed = []
    for workload in objects:
        if workload["kind"] not in ("Deployment", "Job"):
            continue
        name = workload["metadata"]["name"]
        for container in workload["spec"]["template"]["spec"]["containers"]:
            where = f"{env_name} {name}/{container['name']}"
            if workload["kind"] == "Job":
                # Excluded because it is a Job (erp-migrate): it runs to completion and
                # no Service sends it traffic, so a liveness probe could only kill a long
                # migration and readiness would mean nothing.
                assert not {"livenessProbe", "readinessProbe", "startupProbe"} & set(container), where
                continue
            liveness = container["livenessProbe"]["httpGet"]
            readiness = container["readinessProbe"]["httpGet"]
            assert liveness["path"] == "/healthz", where
            assert readiness["path"] == "/readyz", where
            # Both on a port the container declares (and so the process listens on).
            ports = {p["name"] for p in container["ports"]}
            assert liveness["port"] in ports and readiness["port"] in ports, where
            probed.append(name)
    assert sorted(probed) == ["erp-beat", "erp-web", "erp-worker", "erp-worker-periodic"]
    assert [job["metadata"]["name"] for job in find(objects, "Job")] == ["erp-migrate"]

    templates = pod_templates(objects)
    (web,) = templates["erp-web"]["spec"]["containers"]
    assert web["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert web["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert {"name": "http", "containerPort": manifests.WEB_PORT} in web["ports"]
    # Workers and beat: the server config/celery.py starts on the port settings read
    # from the ConfigMap, which must be that container port (0 would turn it off).
    for workload, variable in (
        ("erp-worker", "WORKER_METRICS_PORT"),
        ("erp-worker-periodic", "WORKER_METRICS_PORT"),
        ("erp-beat", "BEAT_METRICS_PORT"),
    ):
        (container,) = templates[workload]["spec"]["containers"]
        port = int(configmap(objects)[variable])
        assert port > 0, f"{workload}'s probes and scrape need its server"
        assert {"name": "metrics", "containerPort": port} in container["ports"], workload
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}, workload
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}, workload
    ports = {int(configmap(objects)[v]) for v in ("WORKER_METRICS_PORT", "BEAT_METRICS_PORT")}
    assert len(ports | {manifests.WEB_PORT}) == 3, "web, workers and beat each scraped on a port of their own"


@pytest.mark.parametrize("env_name", ENVS)
def test_prometheus_scrape_annotations(built, env_name):
    for name, template, container in containers(built[env_name]):
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] in ("true", "false"), name
        if annotations["prometheus.io/scrape"] == "true":
            ports = {p["containerPort"] for p in container["ports"]}
            assert int(annotations["prometheus.io/port"]) in ports, name
            assert annotations["prometheus.io/path"] == "/metrics", name
    scraped = {
        n
        for n, t in pod_templates(built[env_name]).items()
        if t["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    }
    assert scraped == {"erp-web", "erp-worker", "erp-worker-periodic", "erp-beat"}


@pytest.mark.parametrize("env_name", ENVS)
def test_workload_shapes(built, env_name):
    env = ENVIRONMENTS[env_name]
    objects = built[env_name]
    web = one(objects, "Deployment", "erp-web")
    assert "replicas" not in web["spec"], "the HorizontalPodAutoscaler owns web's replica count"
    hpa = one(objects, "HorizontalPodAutoscaler", "erp-web")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "erp-web"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (
        env.web_min_replicas,
        env.web_max_replicas,
    )
    pdb = one(objects, "PodDisruptionBudget", "erp-web")
    assert pdb["spec"]["selector"] == web["spec"]["selector"]
    service = one(objects, "Service", "erp-web")
    assert service["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]

    worker = one(objects, "Deployment", "erp-worker")
    assert worker["spec"]["replicas"] == env.worker_replicas
    worker_pod = worker["spec"]["template"]["spec"]
    assert worker_pod["terminationGracePeriodSeconds"] == manifests.WORKER_GRACE_SECONDS >= 120
    # A task is killed (hard time limit) before Kubernetes kills the pod.
    assert worker_pod["terminationGracePeriodSeconds"] > django_settings.CELERY_TASK_TIME_LIMIT
    assert (
        worker_pod["terminationGracePeriodSeconds"]
        > web["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    )
    (container,) = worker_pod["containers"]
    # What each worker consumes: tests/deploy/test_worker_queues.py.
    assert container["command"][:4] == ["celery", "-A", "config", "worker"]
    env_vars = {e["name"]: e["value"] for e in container["env"]}
    multiproc = env_vars["PROMETHEUS_MULTIPROC_DIR"]
    assert any(m["mountPath"] == multiproc for m in container["volumeMounts"]), "the directory must exist"

    # The periodic worker: always one, shut down and replaced like the workers.
    periodic = one(objects, "Deployment", "erp-worker-periodic")
    assert periodic["spec"]["replicas"] == 1
    assert periodic["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, "never without a consumer"
    periodic_pod = periodic["spec"]["template"]["spec"]
    assert periodic_pod["terminationGracePeriodSeconds"] == worker_pod["terminationGracePeriodSeconds"]
    (container,) = periodic_pod["containers"]
    multiproc = {e["name"]: e["value"] for e in container["env"]}["PROMETHEUS_MULTIPROC_DIR"]
    assert any(m["mountPath"] == multiproc for m in container["volumeMounts"]), "the directory must exist"

    beat = one(objects, "Deployment", "erp-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}

    ingress = one(objects, "Ingress", "erp")
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == env.host
    assert all(
        path["backend"]["service"] == {"name": "erp-web", "port": {"name": "http"}}
        for path in rule["http"]["paths"]
    )
    assert ingress["spec"]["tls"] == [{"hosts": [env.host], "secretName": env.tls_secret}]
    assert configmap(objects)["ALLOWED_HOSTS"] == env.host


def hook(obj) -> str | None:
    return (obj["metadata"].get("annotations") or {}).get("argocd.argoproj.io/hook")


@pytest.mark.parametrize("env_name", ENVS)
def test_migrations_run_before_the_new_pods(built, env_name):
    objects = built[env_name]
    job = one(objects, "Job", "erp-migrate")
    annotations = job["metadata"]["annotations"]
    # PreSync: Argo CD runs it to completion before it applies any object of the Sync phase.
    assert hook(job) == "PreSync"
    assert annotations["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
    pod = job["spec"]["template"]["spec"]
    assert pod["containers"][0]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert pod["restartPolicy"] == "Never"
    for name in ("erp-web", "erp-worker", "erp-worker-periodic", "erp-beat"):
        assert hook(one(objects, "Deployment", name)) is None, f"{name} belongs to the Sync phase"
    # The workloads' own ServiceAccount and ConfigMap are ordinary resources (a hook is
    # deleted and re-created on every sync, and never pruned).
    assert hook(one(objects, "ServiceAccount", "erp")) is None
    assert hook(generated(objects, config.CONFIGMAP_NAME)) is None

    # On the first sync nothing of the Sync phase exists while PreSync runs: whatever the
    # Job's pod names must be a PreSync hook of an earlier wave, re-created with it.
    (env_from,) = pod["containers"][0]["envFrom"]
    needed = [
        one(objects, "ServiceAccount", pod["serviceAccountName"]),
        one(objects, "ConfigMap", env_from["configMapRef"]["name"]),
    ]
    for obj in needed:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert hook(obj) == "PreSync", where
        assert obj["metadata"]["annotations"]["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
        assert wave(obj) < wave(job), where
    # Its ConfigMap has a fixed name: the Job's re-creation replaces it, no copy is left over.
    assert needed[1]["metadata"]["name"] == config.MIGRATE_CONFIGMAP_NAME
    # The only hooks are the Job and what it needs.
    hooks = sorted((o["kind"], o["metadata"]["name"]) for o in objects if hook(o))
    assert hooks == sorted([("Job", "erp-migrate"), *((o["kind"], o["metadata"]["name"]) for o in needed)])
    # Secrets it reads come from outside the sync (a Secret created beforehand, or Vault
    # logging in with the Job's own ServiceAccount): see the secrets tests below.
    assert not find(objects, "Secret")


def test_secrets_come_from_vault_on_the_pod_template_in_production(built):
    env = ENVIRONMENTS["production"]
    assert env.secrets_from == "vault"
    objects = built["production"]
    provided = config.secrets(env)
    for name, template in pod_templates(objects).items():
        annotations = template["metadata"]["annotations"]
        assert annotations["vault.hashicorp.com/agent-inject"] == "true", name
        assert annotations["vault.hashicorp.com/role"] == env.vault_role
        assert annotations["vault.hashicorp.com/secret-volume-path"] == config.SECRETS_DIR
        assert annotations["vault.hashicorp.com/agent-pre-populate-only"] == "true", "a Job must complete"
        injected = {
            k.rsplit("agent-inject-secret-", 1)[1] for k in annotations if "agent-inject-secret-" in k
        }
        assert injected == {config.secret_file(n) for n in provided}, name
        for secret in provided:
            template_text = annotations[
                f"vault.hashicorp.com/agent-inject-template-{config.secret_file(secret)}"
            ]
            assert env.vault_path in template_text and f'"{secret}"' in template_text
        assert template["spec"]["automountServiceAccountToken"] is True, "the agent logs in with the token"
        assert not any(v.get("secret") for v in template["spec"]["volumes"])
    for obj in objects:  # the injector reads pod annotations: on a Deployment they would do nothing
        assert not any(k.startswith("vault.hashicorp.com/") for k in obj["metadata"].get("annotations") or {})


def test_secrets_come_from_a_kubernetes_secret_in_staging(built):
    env = ENVIRONMENTS["staging"]
    assert env.secrets_from == "kubernetes"
    for name, template in pod_templates(built["staging"]).items():
        annotations = template["metadata"]["annotations"]
        assert not any(k.startswith("vault.hashicorp.com/") for k in annotations), name
        (volume,) = [v for v in template["spec"]["volumes"] if v.get("secret")]
        assert volume["secret"]["secretName"] == config.SECRET_NAME
        keys = [item["key"] for item in volume["secret"]["items"]]
        assert keys == [config.secret_file(n) for n in config.secrets(env)]
        (container,) = template["spec"]["containers"]
        (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
        assert mount == {"name": volume["name"], "mountPath": config.SECRETS_DIR, "readOnly": True}
        assert template["spec"]["automountServiceAccountToken"] is False


def _selecting(objects, component: str, policy_type: str) -> list[dict]:
    """The NetworkPolicies of ``policy_type`` that select ``component``'s pods."""
    labels = manifests.labels(component)
    result = []
    for policy in find(objects, "NetworkPolicy"):
        selector = policy["spec"]["podSelector"]
        if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
            continue
        if any(labels.get(e["key"]) not in e["values"] for e in selector.get("matchExpressions", [])):
            continue
        if policy_type in policy["spec"]["policyTypes"]:
            result.append(policy)
    return result


def _allowed(objects, component: str) -> list[tuple[str, int]]:
    """(peer namespace, port) pairs the NetworkPolicies let reach ``component``'s pods."""
    result = []
    for policy in _selecting(objects, component, "Ingress"):
        for rule in policy["spec"].get("ingress", []):
            for peer in rule["from"]:
                namespace = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                result += [(namespace, port["port"]) for port in rule["ports"]]
    return sorted(result)


@pytest.mark.parametrize("env_name", ENVS)
def test_network_policies(built, env_name):
    env = ENVIRONMENTS[env_name]
    objects = built[env_name]
    deny = one(objects, "NetworkPolicy", "erp-default-deny")
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]
    assert deny["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/part-of": "erp"}
    data = configmap(objects)
    monitoring = env.monitoring_namespace
    assert _allowed(objects, "web") == sorted(
        [(env.ingress_namespace, manifests.WEB_PORT), (monitoring, manifests.WEB_PORT)]
    )
    # Workers and beat: nothing but Prometheus, on the component's own metrics port.
    assert _allowed(objects, "worker") == [(monitoring, int(data["WORKER_METRICS_PORT"]))]
    assert _allowed(objects, "worker-periodic") == [(monitoring, int(data["WORKER_METRICS_PORT"]))]
    assert _allowed(objects, "beat") == [(monitoring, int(data["BEAT_METRICS_PORT"]))]
    assert _allowed(objects, "migrate") == []
    for component in ("web", "worker", "worker-periodic", "beat"):  # Prometheus' pods, not its namespace
        policy = one(objects, "NetworkPolicy", f"erp-{component}-from-prometheus")
        ((peer,),) = [rule["from"] for rule in policy["spec"]["ingress"]]
        assert peer["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}


def _egress(objects, component: str) -> list[tuple[str, str, int]]:
    """(destination, protocol, port) the NetworkPolicies let ``component``'s pods reach;
    destination "any" when a rule names ports but no peer."""
    result = []
    for policy in _selecting(objects, component, "Egress"):
        for rule in policy["spec"].get("egress", []):
            # A rule without ports would open every port of its peers.
            assert rule.get("ports"), f"{policy['metadata']['name']}: an egress rule without ports"
            peers = rule.get("to") or [None]
            for peer in peers:
                if peer is None:
                    where = "any"
                else:
                    namespace = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                    where = f"{namespace}/{peer['podSelector']['matchLabels']}"
                result += [(where, port["protocol"], port["port"]) for port in rule["ports"]]
    return sorted(result)


@pytest.mark.parametrize("env_name", ENVS)
def test_egress_only_to_dns_and_the_backing_services(built, env_name):
    env = ENVIRONMENTS[env_name]
    objects = built[env_name]
    dns = f"{env.dns_namespace}/{{'k8s-app': 'kube-dns'}}"
    expected = sorted(
        [(dns, "UDP", 53), (dns, "TCP", 53), *(("any", "TCP", port) for port in env.egress_ports.values())]
    )
    for component in manifests.COMPONENTS:
        assert _egress(objects, component) == expected, component
    ports = {port for _, _, port in expected}
    assert {5432, 6379, 5672} <= ports, "PostgreSQL, Redis and RabbitMQ"
    # Vault only where the agent fetches the secrets.
    assert (environments.VAULT_PORT in ports) == (env.secrets_from == "vault")


def ingress_routes(paths: list[dict], request_path: str) -> bool:
    """Kubernetes' path matching: Exact, or Prefix by whole path elements."""
    for rule in paths:
        path = rule["path"]
        if rule["pathType"] == "Exact" and request_path == path:
            return True
        if rule["pathType"] == "Prefix":
            prefix = path.rstrip("/")
            if request_path == prefix or request_path.startswith(prefix + "/"):
                return True
    return False


@pytest.mark.parametrize("env_name", ENVS)
def test_the_ingress_routes_the_api_admin_and_static_files_but_not_metrics_or_probes(built, env_name):
    (rule,) = one(built[env_name], "Ingress", "erp")["spec"]["rules"]
    paths = rule["http"]["paths"]
    for public in ("/", "/api/v1/", "/api/docs/", "/admin/login/", "/static/admin/css/base.css"):
        assert ingress_routes(paths, public), public
    for internal in ("/metrics", "/healthz", "/readyz", "/metrics/", "/healthz/x"):
        assert not ingress_routes(paths, internal), internal
