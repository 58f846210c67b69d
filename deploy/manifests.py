"""The Kubernetes objects, as typed models of the official client (``kubernetes``):
a misspelt field or a wrong type fails when the object is built, before any YAML.

``base()`` is what every environment shares; ``overlay_patches(env)`` are the
strategic-merge patches of one environment (replicas, host, how secrets arrive).
"""

from __future__ import annotations

from kubernetes.client import (
    V1Capabilities,
    V1ConfigMap,
    V1ConfigMapEnvSource,
    V1Container,
    V1ContainerPort,
    V1Deployment,
    V1DeploymentSpec,
    V1DeploymentStrategy,
    V1EmptyDirVolumeSource,
    V1EnvFromSource,
    V1EnvVar,
    V1HTTPGetAction,
    V1HTTPIngressPath,
    V1HTTPIngressRuleValue,
    V1Ingress,
    V1IngressBackend,
    V1IngressRule,
    V1IngressServiceBackend,
    V1IngressSpec,
    V1IngressTLS,
    V1Job,
    V1JobSpec,
    V1KeyToPath,
    V1LabelSelector,
    V1NetworkPolicy,
    V1NetworkPolicyEgressRule,
    V1NetworkPolicyIngressRule,
    V1NetworkPolicyPeer,
    V1NetworkPolicyPort,
    V1NetworkPolicySpec,
    V1ObjectMeta,
    V1PodDisruptionBudget,
    V1PodDisruptionBudgetSpec,
    V1PodSecurityContext,
    V1PodSpec,
    V1PodTemplateSpec,
    V1Probe,
    V1ResourceRequirements,
    V1RollingUpdateDeployment,
    V1SeccompProfile,
    V1SecretVolumeSource,
    V1SecurityContext,
    V1Service,
    V1ServiceAccount,
    V1ServiceBackendPort,
    V1ServicePort,
    V1ServiceSpec,
    V1Volume,
    V1VolumeMount,
    V2HorizontalPodAutoscaler,
    V2HorizontalPodAutoscalerSpec,
    V2MetricSpec,
    V2MetricTarget,
    V2ResourceMetricSource,
)
from kubernetes.client import (
    V2CrossVersionObjectReference as HpaTarget,
)

from deploy import config
from deploy.environments import BACKEND_PORTS, Environment

NAME = "erp"
IMAGE = "erp"  # replaced per overlay by kustomize's `images:` (repository and tag)
UID = 10001  # the image's user (Dockerfile)
WEB_PORT = 8000
SERVICE_ACCOUNT = "erp"
MIGRATE_SERVICE_ACCOUNT = "erp-migrate"
TMP = "/tmp"  # noqa: S108 - an emptyDir: the root filesystem is read-only
PROMETHEUS_MULTIPROC_DIR = "/tmp/prometheus"  # noqa: S108 - an emptyDir of its own
BEAT_SCHEDULE = "/tmp/celerybeat-schedule"  # noqa: S108
# Celery's warm shutdown (SIGTERM) stops taking tasks and waits for the running ones.
# Event deliveries and sweeps take seconds and prune a few at most; 120 s leaves them
# ample room. A task still running when the grace period ends is killed and, with
# acks_late and reject_on_worker_lost, redelivered: its inbox row makes it idempotent.
WORKER_GRACE_SECONDS = 120
WEB_GRACE_SECONDS = 30  # gunicorn's graceful timeout (30 s) finishes in-flight requests
# Argo CD runs a sync phase by phase (PreSync hooks, then Sync), each wave by wave,
# waiting for every wave to be healthy (a Job: completed) before the next.
# PreSync: the migration's ServiceAccount and ConfigMap, then the migration. Sync:
# the workloads' ServiceAccount and ConfigMap, then the workloads (wave 0).
WAVE_CONFIG = "-2"
WAVE_MIGRATE_CONFIG = "-1"
WAVE_MIGRATE = "0"
# A PreSync hook, replaced on every sync: Argo CD deletes the previous one (a Job's
# pod template is immutable) and creates the new one. Hooks are never pruned, so
# their names are fixed: a name that changed would leave the old object behind.
PRESYNC_HOOK = {
    "argocd.argoproj.io/hook": "PreSync",
    "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
}

COMPONENTS = ("web", "worker", "worker-periodic", "beat", "migrate")

# The queues a worker consumes: Celery's default one (event deliveries and every task
# not routed elsewhere) and beat's (config/settings.py CELERY_PERIODIC_QUEUE, where
# CELERY_TASK_ROUTES send the sweep, the prunes and the workflow tick).
DEFAULT_QUEUE = "celery"
PERIODIC_QUEUE = "erp.periodic"


def labels(component: str | None = None) -> dict[str, str]:
    result = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": NAME}
    if component:
        result["app.kubernetes.io/component"] = component
    return result


def selector(component: str) -> V1LabelSelector:
    return V1LabelSelector(
        match_labels={"app.kubernetes.io/name": NAME, "app.kubernetes.io/component": component}
    )


def meta(name: str, component: str | None = None, annotations: dict[str, str] | None = None) -> V1ObjectMeta:
    return V1ObjectMeta(name=name, labels=labels(component), annotations=annotations)


def resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> V1ResourceRequirements:
    return V1ResourceRequirements(
        requests={"cpu": cpu, "memory": memory}, limits={"cpu": cpu_limit, "memory": memory_limit}
    )


def container_security() -> V1SecurityContext:
    return V1SecurityContext(
        run_as_non_root=True,
        run_as_user=UID,
        run_as_group=UID,
        read_only_root_filesystem=True,
        allow_privilege_escalation=False,
        privileged=False,
        capabilities=V1Capabilities(drop=["ALL"]),
        seccomp_profile=V1SeccompProfile(type="RuntimeDefault"),
    )


def pod_security() -> V1PodSecurityContext:
    # fsGroup makes the mounted secret files readable by the app's group.
    return V1PodSecurityContext(
        run_as_non_root=True,
        run_as_user=UID,
        run_as_group=UID,
        fs_group=UID,
        seccomp_profile=V1SeccompProfile(type="RuntimeDefault"),
    )


def scrape(port: int | None) -> dict[str, str]:
    if port is None:
        return {"prometheus.io/scrape": "false"}
    return {"prometheus.io/scrape": "true", "prometheus.io/port": str(port), "prometheus.io/path": "/metrics"}


def http_probe(path: str, port: str, *, period: int, failures: int, delay: int = 0) -> V1Probe:
    return V1Probe(
        http_get=V1HTTPGetAction(path=path, port=port),
        initial_delay_seconds=delay,
        period_seconds=period,
        timeout_seconds=3,
        failure_threshold=failures,
    )


def app_container(
    name: str,
    *,
    command: list[str] | None,
    res: V1ResourceRequirements,
    ports: list[V1ContainerPort] | None = None,
    config_map: str = config.CONFIGMAP_NAME,
    env: list[V1EnvVar] | None = None,
    mounts: list[V1VolumeMount] | None = None,
    liveness: V1Probe | None = None,
    readiness: V1Probe | None = None,
    startup: V1Probe | None = None,
) -> V1Container:
    return V1Container(
        name=name,
        image=IMAGE,
        image_pull_policy="IfNotPresent",
        command=command,
        ports=ports,
        env_from=[V1EnvFromSource(config_map_ref=V1ConfigMapEnvSource(name=config_map))],
        env=env,
        resources=res,
        security_context=container_security(),
        volume_mounts=[V1VolumeMount(name="tmp", mount_path=TMP), *(mounts or [])],
        liveness_probe=liveness,
        readiness_probe=readiness,
        startup_probe=startup,
    )


def pod(
    component: str,
    container: V1Container,
    *,
    metrics_port: int | None,
    grace: int,
    volumes: list[V1Volume] | None = None,
    restart: str = "Always",
    service_account: str = SERVICE_ACCOUNT,
) -> V1PodTemplateSpec:
    return V1PodTemplateSpec(
        metadata=V1ObjectMeta(labels=labels(component), annotations=scrape(metrics_port)),
        spec=V1PodSpec(
            service_account_name=service_account,
            automount_service_account_token=False,
            security_context=pod_security(),
            termination_grace_period_seconds=grace,
            restart_policy=restart,
            containers=[container],
            volumes=[V1Volume(name="tmp", empty_dir=V1EmptyDirVolumeSource()), *(volumes or [])],
        ),
    )


# --- base -------------------------------------------------------------------------


def service_account(
    name: str = SERVICE_ACCOUNT, annotations: dict[str, str] | None = None
) -> V1ServiceAccount:
    return V1ServiceAccount(
        api_version="v1",
        kind="ServiceAccount",
        metadata=meta(name, annotations=annotations or {"argocd.argoproj.io/sync-wave": WAVE_CONFIG}),
        # Pods get a token only where they need one (the Vault agent logs in with it).
        automount_service_account_token=False,
    )


def migrate_service_account() -> V1ServiceAccount:
    # Not `erp`: that one is applied in the Sync phase, and on the first sync a pod
    # naming a ServiceAccount that does not exist yet is never created.
    return service_account(
        MIGRATE_SERVICE_ACCOUNT, {**PRESYNC_HOOK, "argocd.argoproj.io/sync-wave": WAVE_MIGRATE_CONFIG}
    )


def migrate_config_map(values: dict[str, str]) -> V1ConfigMap:
    """The migrate Job's configuration: the same values as the workloads' generated
    ConfigMap, but a PreSync hook like the Job (created before it, a lower wave),
    so it exists before the Sync phase creates the other one. A plain resource
    with a fixed name, not a generated one: kubectl 1.20's kustomize has no
    per-generator options, and a hook is never pruned, so a hashed name would
    leave one stale ConfigMap behind per change."""
    return V1ConfigMap(
        api_version="v1",
        kind="ConfigMap",
        metadata=meta(
            config.MIGRATE_CONFIGMAP_NAME,
            annotations={**PRESYNC_HOOK, "argocd.argoproj.io/sync-wave": WAVE_MIGRATE_CONFIG},
        ),
        data=values,
    )


def web_deployment() -> V1Deployment:
    container = app_container(
        "web",
        command=None,  # the image's CMD: gunicorn on 0.0.0.0:8000
        ports=[V1ContainerPort(name="http", container_port=WEB_PORT)],
        env=[
            V1EnvVar(name="WEB_CONCURRENCY", value="3"),  # gunicorn's worker processes
            # One /metrics for all of them (prometheus_client's multiprocess mode).
            V1EnvVar(name="PROMETHEUS_MULTIPROC_DIR", value=PROMETHEUS_MULTIPROC_DIR),
        ],
        mounts=[V1VolumeMount(name="prometheus", mount_path=PROMETHEUS_MULTIPROC_DIR)],
        res=resources("250m", "384Mi", "1", "768Mi"),
        liveness=http_probe("/healthz", "http", period=10, failures=3),
        readiness=http_probe("/readyz", "http", period=5, failures=2),
        startup=http_probe("/healthz", "http", period=2, failures=30),
    )
    return V1Deployment(
        api_version="apps/v1",
        kind="Deployment",
        metadata=meta("erp-web", "web"),
        # No replicas: the HorizontalPodAutoscaler owns the count.
        spec=V1DeploymentSpec(
            selector=selector("web"),
            strategy=V1DeploymentStrategy(
                type="RollingUpdate",
                rolling_update=V1RollingUpdateDeployment(max_surge="25%", max_unavailable=0),
            ),
            template=pod(
                "web",
                container,
                metrics_port=WEB_PORT,
                grace=WEB_GRACE_SECONDS,
                volumes=[V1Volume(name="prometheus", empty_dir=V1EmptyDirVolumeSource())],
            ),
        ),
    )


def celery_worker(
    component: str,
    metrics_port: int,
    *,
    queues: tuple[str, ...],
    res: V1ResourceRequirements,
    concurrency: int | None = None,
) -> V1Deployment:
    """A Deployment of Celery workers consuming ``queues`` (``concurrency`` pool
    processes; None: Celery's default)."""
    command = ["celery", "-A", "config", "worker", "-Q", ",".join(queues)]
    if concurrency is not None:
        command += ["--concurrency", str(concurrency)]
    container = app_container(
        component,
        command=[*command, "--loglevel", "INFO"],
        ports=[V1ContainerPort(name="metrics", container_port=metrics_port)],
        env=[V1EnvVar(name="PROMETHEUS_MULTIPROC_DIR", value=PROMETHEUS_MULTIPROC_DIR)],
        mounts=[V1VolumeMount(name="prometheus", mount_path=PROMETHEUS_MULTIPROC_DIR)],
        res=res,
        # The worker's exporter (config/celery.py) answers any path while the worker's
        # main process runs; it does not check the broker (see deploy/README.md).
        liveness=http_probe("/healthz", "metrics", period=20, failures=3, delay=20),
        readiness=http_probe("/readyz", "metrics", period=10, failures=3, delay=10),
    )
    return V1Deployment(
        api_version="apps/v1",
        kind="Deployment",
        metadata=meta(f"erp-{component}", component),
        spec=V1DeploymentSpec(
            replicas=1,
            selector=selector(component),
            # The new pod is ready before the old one stops taking tasks: the queues
            # always have a consumer.
            strategy=V1DeploymentStrategy(
                type="RollingUpdate",
                rolling_update=V1RollingUpdateDeployment(max_surge=1, max_unavailable=0),
            ),
            template=pod(
                component,
                container,
                metrics_port=metrics_port,
                grace=WORKER_GRACE_SECONDS,
                volumes=[V1Volume(name="prometheus", empty_dir=V1EmptyDirVolumeSource())],
            ),
        ),
    )


def worker_deployment(metrics_port: int) -> V1Deployment:
    """The workers: event deliveries and every other task, and beat's tasks too."""
    return celery_worker(
        "worker",
        metrics_port,
        queues=(DEFAULT_QUEUE, PERIODIC_QUEUE),
        res=resources("250m", "384Mi", "1", "768Mi"),
    )


def periodic_worker_deployment(metrics_port: int) -> V1Deployment:
    """One worker with one pool process for beat's queue only. When a backlog of
    deliveries keeps every slot of the workers busy, the next sweep (or workflow tick)
    waits for nothing but the periodic task before it, not until it expires; the
    workers take beat's tasks as well, so this one is no single point of failure."""
    return celery_worker(
        "worker-periodic",
        metrics_port,
        queues=(PERIODIC_QUEUE,),
        concurrency=1,
        res=resources("100m", "256Mi", "500m", "512Mi"),
    )


def beat_deployment(metrics_port: int) -> V1Deployment:
    container = app_container(
        "beat",
        command=["celery", "-A", "config", "beat", "--loglevel", "INFO", "--schedule", BEAT_SCHEDULE],
        ports=[V1ContainerPort(name="metrics", container_port=metrics_port)],
        res=resources("50m", "128Mi", "250m", "256Mi"),
        # The worker's server, started from beat_init (config/celery.py); beat's
        # /healthz also fails when its scheduler stops ticking.
        liveness=http_probe("/healthz", "metrics", period=20, failures=3, delay=20),
        readiness=http_probe("/readyz", "metrics", period=10, failures=3, delay=10),
    )
    return V1Deployment(
        api_version="apps/v1",
        kind="Deployment",
        metadata=meta("erp-beat", "beat"),
        spec=V1DeploymentSpec(
            # Exactly one beat, ever: two would send every periodic task twice, so the
            # old pod is gone before the new one starts.
            replicas=1,
            selector=selector("beat"),
            strategy=V1DeploymentStrategy(type="Recreate"),
            template=pod("beat", container, metrics_port=metrics_port, grace=30),
        ),
    )


def migrate_job() -> V1Job:
    container = app_container(
        "migrate",
        command=["python", "manage.py", "migrate", "--noinput"],
        config_map=config.MIGRATE_CONFIGMAP_NAME,
        res=resources("100m", "256Mi", "1", "512Mi"),
    )
    return V1Job(
        api_version="batch/v1",
        kind="Job",
        metadata=meta(
            "erp-migrate",
            "migrate",
            # Argo CD runs it to completion before it applies anything of the Sync phase
            # (the new web, worker and beat pods); a failed migration stops the sync with
            # the old pods still serving. Everything it reads is a PreSync hook too (its
            # ServiceAccount and ConfigMap, an earlier wave), so it also runs on the first
            # sync, when nothing of the Sync phase exists yet.
            annotations={**PRESYNC_HOOK, "argocd.argoproj.io/sync-wave": WAVE_MIGRATE},
        ),
        spec=V1JobSpec(
            backoff_limit=1,
            active_deadline_seconds=900,
            template=pod(
                "migrate",
                container,
                metrics_port=None,
                grace=30,
                restart="Never",
                service_account=MIGRATE_SERVICE_ACCOUNT,
            ),
        ),
    )


def web_service() -> V1Service:
    return V1Service(
        api_version="v1",
        kind="Service",
        metadata=meta("erp-web", "web"),
        spec=V1ServiceSpec(
            type="ClusterIP",
            selector=selector("web").match_labels,
            ports=[V1ServicePort(name="http", port=80, target_port="http", protocol="TCP")],
        ),
    )


def web_hpa(minimum: int = 2, maximum: int = 4) -> V2HorizontalPodAutoscaler:
    return V2HorizontalPodAutoscaler(
        api_version="autoscaling/v2",
        kind="HorizontalPodAutoscaler",
        metadata=meta("erp-web", "web"),
        spec=V2HorizontalPodAutoscalerSpec(
            scale_target_ref=HpaTarget(api_version="apps/v1", kind="Deployment", name="erp-web"),
            min_replicas=minimum,
            max_replicas=maximum,
            metrics=[
                V2MetricSpec(
                    type="Resource",
                    resource=V2ResourceMetricSource(
                        name="cpu", target=V2MetricTarget(type="Utilization", average_utilization=70)
                    ),
                )
            ],
        ),
    )


def web_pdb() -> V1PodDisruptionBudget:
    return V1PodDisruptionBudget(
        api_version="policy/v1",
        kind="PodDisruptionBudget",
        metadata=meta("erp-web", "web"),
        spec=V1PodDisruptionBudgetSpec(max_unavailable=1, selector=selector("web")),
    )


# What the Ingress routes to web: the API, the admin, their static files and the
# index. Not /metrics, /healthz or /readyz: Prometheus and the kubelet call pods
# directly, and nobody outside needs the series or the probes.
PUBLIC_PATHS = (("/api/", "Prefix"), ("/admin/", "Prefix"), ("/static/", "Prefix"), ("/", "Exact"))


def _web_path(path: str, path_type: str) -> V1HTTPIngressPath:
    return V1HTTPIngressPath(
        path=path,
        path_type=path_type,
        backend=V1IngressBackend(
            service=V1IngressServiceBackend(name="erp-web", port=V1ServiceBackendPort(name="http"))
        ),
    )


def ingress(
    host: str = "erp.invalid",
    tls_secret: str = "erp-tls",  # noqa: S107 - the name of the TLS Secret, not a password
    ingress_class: str = "nginx",
) -> V1Ingress:
    return V1Ingress(
        api_version="networking.k8s.io/v1",
        kind="Ingress",
        metadata=meta("erp", "web"),
        spec=V1IngressSpec(
            ingress_class_name=ingress_class,
            tls=[V1IngressTLS(hosts=[host], secret_name=tls_secret)],
            rules=[
                V1IngressRule(
                    host=host,
                    http=V1HTTPIngressRuleValue(
                        paths=[_web_path(path, path_type) for path, path_type in PUBLIC_PATHS]
                    ),
                )
            ],
        ),
    )


def _namespace(name: str) -> V1LabelSelector:
    return V1LabelSelector(match_labels={"kubernetes.io/metadata.name": name})


def metrics_ports(values: dict[str, str]) -> dict[str, int]:
    """Component -> the port Prometheus scrapes, from a ConfigMap's ``values``
    (web's /metrics shares its HTTP port)."""
    return {
        "web": WEB_PORT,
        "worker": int(values["WORKER_METRICS_PORT"]),
        # Its own pods, the same server and port as the workers'.
        "worker-periodic": int(values["WORKER_METRICS_PORT"]),
        "beat": int(values["BEAT_METRICS_PORT"]),
    }


def network_policies(
    metrics: dict[str, int],
    ingress_namespace: str = "ingress-nginx",
    monitoring_namespace: str = "monitoring",
    egress_ports: dict[str, int] | None = None,
    dns_namespace: str = "kube-system",
) -> list[V1NetworkPolicy]:
    everything = V1LabelSelector(match_labels={"app.kubernetes.io/part-of": NAME})
    prometheus = V1NetworkPolicyPeer(
        namespace_selector=_namespace(monitoring_namespace),
        pod_selector=V1LabelSelector(match_labels={"app.kubernetes.io/name": "prometheus"}),
    )
    return [
        # Nothing reaches an ERP pod, and an ERP pod reaches nothing, unless a policy
        # below allows it: migrate pods accept no connection at all, worker and beat
        # pods only the metrics scrape. (Kubelet probes come from the node, which
        # NetworkPolicies always admit.)
        V1NetworkPolicy(
            api_version="networking.k8s.io/v1",
            kind="NetworkPolicy",
            metadata=meta("erp-default-deny"),
            spec=V1NetworkPolicySpec(pod_selector=everything, policy_types=["Ingress", "Egress"]),
        ),
        # Out: the cluster DNS, and the database, cache, broker (and Vault) ports only.
        V1NetworkPolicy(
            api_version="networking.k8s.io/v1",
            kind="NetworkPolicy",
            metadata=meta("erp-egress"),
            spec=V1NetworkPolicySpec(
                pod_selector=everything,
                policy_types=["Egress"],
                egress=[
                    V1NetworkPolicyEgressRule(
                        to=[
                            V1NetworkPolicyPeer(
                                namespace_selector=_namespace(dns_namespace),
                                pod_selector=V1LabelSelector(match_labels={"k8s-app": "kube-dns"}),
                            )
                        ],
                        ports=[
                            V1NetworkPolicyPort(protocol="UDP", port=53),
                            V1NetworkPolicyPort(protocol="TCP", port=53),
                        ],
                    ),
                    # Any address: the servers' hosts are in secret URLs and may be
                    # outside the cluster (deploy/environments.py, BACKEND_PORTS).
                    V1NetworkPolicyEgressRule(
                        ports=[
                            V1NetworkPolicyPort(protocol="TCP", port=port)
                            for port in sorted(set((egress_ports or BACKEND_PORTS).values()))
                        ]
                    ),
                ],
            ),
        ),
        # Web: from the ingress controller only.
        V1NetworkPolicy(
            api_version="networking.k8s.io/v1",
            kind="NetworkPolicy",
            metadata=meta("erp-web-from-ingress", "web"),
            spec=V1NetworkPolicySpec(
                pod_selector=selector("web"),
                policy_types=["Ingress"],
                ingress=[
                    V1NetworkPolicyIngressRule(
                        _from=[V1NetworkPolicyPeer(namespace_selector=_namespace(ingress_namespace))],
                        ports=[V1NetworkPolicyPort(protocol="TCP", port=WEB_PORT)],
                    )
                ],
            ),
        ),
        # Prometheus scrapes each component on its own metrics port only: one policy per
        # component, since a policy's ports apply to every pod it selects.
        *(
            V1NetworkPolicy(
                api_version="networking.k8s.io/v1",
                kind="NetworkPolicy",
                metadata=meta(f"erp-{component}-from-prometheus", component),
                spec=V1NetworkPolicySpec(
                    pod_selector=selector(component),
                    policy_types=["Ingress"],
                    ingress=[
                        V1NetworkPolicyIngressRule(
                            _from=[prometheus], ports=[V1NetworkPolicyPort(protocol="TCP", port=port)]
                        )
                    ],
                ),
            )
            for component, port in metrics.items()
        ),
    ]


def base() -> dict[str, object]:
    """File name -> object of the kustomize base."""
    values = config.base_config()
    metrics = metrics_ports(values)
    files: dict[str, object] = {
        "serviceaccount.yaml": service_account(),
        "migrate-serviceaccount.yaml": migrate_service_account(),
        "migrate-configmap.yaml": migrate_config_map(values),
        "web-deployment.yaml": web_deployment(),
        "web-service.yaml": web_service(),
        "web-hpa.yaml": web_hpa(),
        "web-pdb.yaml": web_pdb(),
        "worker-deployment.yaml": worker_deployment(metrics["worker"]),
        "worker-periodic-deployment.yaml": periodic_worker_deployment(metrics["worker-periodic"]),
        "beat-deployment.yaml": beat_deployment(metrics["beat"]),
        "migrate-job.yaml": migrate_job(),
        "ingress.yaml": ingress(),
    }
    for policy in network_policies(metrics):
        files[f"networkpolicy-{policy.metadata.name.removeprefix('erp-')}.yaml"] = policy
    return files


# --- overlay patches ------------------------------------------------------------------


def _vault_annotations(env: Environment) -> dict[str, str]:
    annotations = {
        "vault.hashicorp.com/agent-inject": "true",
        "vault.hashicorp.com/role": env.vault_role,
        # An init container renders the files before the app starts; no sidecar, so
        # the migrate Job completes. Settings read the files once at start: a rotated
        # secret reaches the pods with a rollout restart (deploy/README.md).
        "vault.hashicorp.com/agent-pre-populate-only": "true",
        "vault.hashicorp.com/secret-volume-path": config.SECRETS_DIR,
    }
    for name in config.secrets(env):
        file = config.secret_file(name)
        annotations[f"vault.hashicorp.com/agent-inject-secret-{file}"] = env.vault_path
        annotations[f"vault.hashicorp.com/agent-inject-template-{file}"] = (
            f'{{{{- with secret "{env.vault_path}" -}}}}{{{{ index .Data.data "{name}" }}}}{{{{- end }}}}'
        )
        # A key missing in Vault stops the pod instead of rendering "<no value>".
        annotations[f"vault.hashicorp.com/error-on-missing-key-{file}"] = "true"
    return annotations


def _secret_pod_patch(env: Environment, component: str) -> V1PodTemplateSpec:
    container = V1Container(name=component)
    if env.secrets_from == "vault":
        return V1PodTemplateSpec(
            metadata=V1ObjectMeta(annotations=_vault_annotations(env)),
            # The agent logs in to Vault with the pod's ServiceAccount token.
            spec=V1PodSpec(automount_service_account_token=True, containers=[container]),
        )
    container.volume_mounts = [V1VolumeMount(name="secrets", mount_path=config.SECRETS_DIR, read_only=True)]
    items = [
        V1KeyToPath(key=config.secret_file(name), path=config.secret_file(name))
        for name in config.secrets(env)
    ]
    return V1PodTemplateSpec(
        spec=V1PodSpec(
            containers=[container],
            volumes=[
                V1Volume(
                    name="secrets",
                    secret=V1SecretVolumeSource(
                        secret_name=config.SECRET_NAME, default_mode=0o440, items=items
                    ),
                )
            ],
        )
    )


def overlay_patches(env: Environment) -> dict[str, object]:
    """File name -> strategic-merge patch of ``env``'s overlay."""
    patches: dict[str, object] = {}
    for component in ("web", "worker", "worker-periodic", "beat"):
        name = f"erp-{component}"
        patches[f"{component}-deployment.yaml"] = V1Deployment(
            api_version="apps/v1",
            kind="Deployment",
            metadata=V1ObjectMeta(name=name),
            spec=V1DeploymentSpec(
                replicas=env.worker_replicas if component == "worker" else None,
                selector=selector(component),
                template=_secret_pod_patch(env, component),
            ),
        )
    patches["migrate-configmap.yaml"] = V1ConfigMap(
        api_version="v1",
        kind="ConfigMap",
        metadata=V1ObjectMeta(name=config.MIGRATE_CONFIGMAP_NAME),
        data=config.overlay_config(env),
    )
    patches["migrate-job.yaml"] = V1Job(
        api_version="batch/v1",
        kind="Job",
        metadata=V1ObjectMeta(name="erp-migrate"),
        spec=V1JobSpec(template=_secret_pod_patch(env, "migrate")),
    )
    patches["web-hpa.yaml"] = web_hpa(env.web_min_replicas, env.web_max_replicas)
    patches["ingress.yaml"] = ingress(env.host, env.tls_secret, env.ingress_class)
    metrics = metrics_ports(config.env_config(env))
    policies = network_policies(
        metrics, env.ingress_namespace, env.monitoring_namespace, env.egress_ports, env.dns_namespace
    )
    for policy in policies[1:]:
        patches[f"networkpolicy-{policy.metadata.name.removeprefix('erp-')}.yaml"] = policy
    return patches
