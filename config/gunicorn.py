"""gunicorn's settings (``gunicorn --config python:config.gunicorn``): the
image's CMD and scripts/prod-local.sh. The command line gives the rest."""

import gunicorn.http.wsgi

# No "Server: gunicorn" banner: what serves the API, and which version, is
# nobody's business (every response's Server header reads "erp").
gunicorn.http.wsgi.SERVER = "erp"
