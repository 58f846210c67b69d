from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=&page_size=``; sizes above the maximum are capped, not rejected."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
