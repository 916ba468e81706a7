"""One router per resource: ``oauth2``, ``records`` (push), ``cases`` (pull), ``status``,
``ops`` (health, readiness, metrics)."""
