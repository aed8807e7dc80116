"""gunicorn settings for innbyggerpost: the installed package's own (``service/entrypoints/gunicorn_conf.py``),
for operators who start gunicorn by hand (``gunicorn -c deploy/gunicorn.conf.py 'service.entrypoints.soap.app:make_app()'``).
``innbyggerpost serve`` uses ``python:service.entrypoints.gunicorn_conf`` directly."""

from service.entrypoints.gunicorn_conf import *  # noqa: F403
