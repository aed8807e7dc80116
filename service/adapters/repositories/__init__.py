"""Repositories: every SQL statement of the application lives in this package.

One module per aggregate (after cosmicpython's ``adapters/repository.py``). The unit of work
(``service.service_layer.unit_of_work``) opens a session and hands each repository that session;
use cases and entry points call repository methods and never build ``select()`` themselves.
"""
