"""Admin pages in the company's timezone."""

from django.urls import reverse
from django.utils import timezone

from core.services import company_timezone


class CompanyTimezoneMiddleware:
    """Admin pages show (and forms read) times in the company's timezone; the API
    keeps UTC with offsets."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(reverse("admin:index")):
            return self.get_response(request)
        zone = company_timezone()
        if zone is None:  # a bad stored name: times stay in UTC
            return self.get_response(request)
        timezone.activate(zone)
        try:
            return self.get_response(request)  # templates render inside this call
        finally:
            timezone.deactivate()
