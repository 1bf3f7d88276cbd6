"""gunicorn settings (`gunicorn -c python:ade_review.gunicorn_conf`, as docker/ runs it).

The access log writes the path without its query string (`%(U)s`, not the request line `%(r)s`) and no
Referer: a search term or patient id in a URL would otherwise land in the log, which is not PHI-protected.
"""

accesslog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'
