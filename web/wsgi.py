"""WSGI entry point for running the web app under any WSGI server with several processes, e.g.
`gunicorn -w 4 -b 0.0.0.0:8000 web.wsgi:app`. Timers then run in `planflow worker`
process(es), not inside the web processes (see README: Timers in production). Such a server
stops its workers on SIGTERM by its own rules (gunicorn: `--graceful-timeout`, default 30 s);
the web app holds no scheduler lease, so there is nothing of planflow's to release."""

from __future__ import annotations

from web import create_app

app = create_app()
