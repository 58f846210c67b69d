"""Configuration as code for running the ERP on Kubernetes.

Manifests are typed objects of the official ``kubernetes`` client models, built
from the same declaration of variables that settings read (``config.env``) and
rendered to plain YAML under ``deploy/rendered/`` (``python -m deploy.render``).
Needs the ``deploy`` extra; nothing here is part of the runtime image.
"""
