"""What Local Mind tells its operators: structured logs with request and correlation ids, redaction of
secrets, and Prometheus metrics on an opt-in endpoint."""
