"""Access logs (runserver's `django.server`, gunicorn's access log) never carry query strings: search
terms and patient ids are PHI and logs are not protected like the database."""

from __future__ import annotations

import datetime
import logging
import types


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_runserver_access_lines_have_no_query_string():
    logger = logging.getLogger("django.server")
    handler = Collect()
    logger.addHandler(handler)
    try:
        # what django.core.servers.basehttp.WSGIRequestHandler.log_message sends
        logger.info('"%s" %s %s', "GET /projects/ui/queue/?q=hemoptysis&patient=MRN-1234 HTTP/1.1", "200", "512")
        logger.info('"%s" %s %s', "POST /projects/ui/queue/ HTTP/1.1", "200", "512")
    finally:
        logger.removeHandler(handler)
    assert handler.lines == ['"GET /projects/ui/queue/ HTTP/1.1" 200 512', '"POST /projects/ui/queue/ HTTP/1.1" 200 512']


def test_gunicorn_access_lines_have_no_query_string_nor_referer():
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    from ade_review import gunicorn_conf

    cfg = Config()
    cfg.set("access_log_format", gunicorn_conf.access_log_format)
    environ = {
        "REQUEST_METHOD": "GET", "RAW_URI": "/projects/ui/queue/?q=hemoptysis", "PATH_INFO": "/projects/ui/queue/",
        "QUERY_STRING": "q=hemoptysis", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "192.0.2.1",
        "HTTP_REFERER": "https://ade.example/p/ui/queue/?patient=MRN-1234",
    }
    response = types.SimpleNamespace(status="200 OK", headers=[], response_length=10, sent=10)
    request = types.SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    line = cfg.access_log_format % Logger(cfg).atoms(response, request, environ, datetime.timedelta(seconds=0.01))
    assert '"GET /projects/ui/queue/ HTTP/1.1" 200' in line
    assert "hemoptysis" not in line and "MRN-1234" not in line
    assert gunicorn_conf.accesslog == "-"
