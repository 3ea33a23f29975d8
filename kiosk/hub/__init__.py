"""The province side: `kiosk hub` receives the boards' reports, keeps them in a database, shows the fleet.

A stage of its own, after the board's: it imports only the root modules (yamlfile, problems, version)
and never pygame; the board's `kiosk run` never imports it. Its web stack (Starlette, uvicorn, Jinja2,
psycopg) is the optional extra `kiosk[hub]`.
"""
