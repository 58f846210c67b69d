"""REST building blocks every domain app's API uses, so each app's views and
serializers stay a few lines: decimal input that reads like the services,
CRUD written through services, canonical UUID paths, input validation."""

from __future__ import annotations

import copy
from decimal import Decimal

from django.db import models
from rest_framework import serializers, viewsets

# A canonical UUID only: anything else is an unknown path (404), not a 400.
UUID_PATH = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class DecimalField(serializers.DecimalField):
    """Trailing zeros are not places: "2.5000" is a fine 3-place quantity, as
    the services read it; "2.5001" is not."""

    def validate_precision(self, value):
        # Decimal.normalize() would round values longer than the context's precision.
        sign, digits, exponent = value.as_tuple()
        while exponent < 0 and digits and digits[-1] == 0:
            digits, exponent = digits[:-1], exponent + 1
        super().validate_precision(Decimal((sign, digits or (0,), exponent)))
        return value


class ModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose decimals read like the services (DecimalField
    above) and whose fields are built from the model once per class: DRF
    introspects the model again for every instance, which cost more than the
    rest of rendering an order. Each instance still gets its own copies (DRF
    binds fields to their serializer), made the way DRF copies declared fields.
    Not for a serializer whose fields depend on its instance or context."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DecimalField: DecimalField,
    }

    def get_fields(self):
        cls = type(self)
        prototypes = cls.__dict__.get("_field_prototypes")
        if prototypes is None:
            prototypes = super().get_fields()
            cls._field_prototypes = prototypes
        return copy.deepcopy(prototypes)


class ServiceWrittenViewSet(viewsets.ModelViewSet):
    """CRUD whose writes go through the app's services (their rules and errors):
    ``create_service(**data)``, ``update_service(instance, **data)``, ``delete_service(instance)``."""

    create_service = update_service = delete_service = None

    def perform_create(self, serializer):
        serializer.instance = self.create_service(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = self.update_service(serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        self.delete_service(instance)


def valid_input(serializer_class: type[serializers.Serializer], request) -> dict:
    """The request body validated by ``serializer_class`` (a 400 otherwise)."""
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data


def valid_query(serializer_class: type[serializers.Serializer], request) -> dict:
    """The query string validated by ``serializer_class`` (a 400 otherwise)."""
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data
