import re
import uuid

REQUEST_ID_HEADER = "X-Request-ID"
_META_KEY = "HTTP_X_REQUEST_ID"
# An upstream id is echoed only when it is short and plain, so it is safe in logs.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")


class RequestIdMiddleware:
    """Gives every request an id (the caller's X-Request-ID if sane) and echoes it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get(_META_KEY, "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.META[_META_KEY] = request_id
        request.__dict__.pop("headers", None)  # re-read so later middleware sees the id
        request.request_id = request_id
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class OpsEndpointsMiddleware:
    """Serve /healthz, /readyz and /metrics before host validation and HTTPS
    redirects: kubelet probes and Prometheus call a pod by IP over plain HTTP,
    a Host that ALLOWED_HOSTS rightly rejects for everything else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from erp import health, metrics

        views = {"/healthz": health.healthz, "/readyz": health.readyz, "/metrics": metrics.export}
        view = views.get(request.path_info)
        if view is not None and request.method in ("GET", "HEAD"):
            return view(request)
        return self.get_response(request)
