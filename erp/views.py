"""Django-level error pages as problem+json (paths no DRF view handled)."""

from django.utils.translation import gettext as _

from erp.problems import problem_response


def not_found(request, exception=None):
    return problem_response(404, "not_found", _("No resource at this path."))


def server_error(request):
    return problem_response(500, "server_error", _("Internal error; it has been logged."))
