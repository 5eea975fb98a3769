"""The register's core: every rule of the national register of social housing applications.

- ``core.domain``: the model and its rules, pure Python, no I/O;
- ``core.service_layer``: use cases, over an abstract unit of work;
- ``core.adapters``: SQLAlchemy persistence (SQLite, PostgreSQL) and migrations;
- ``core.cli``: the operators' ``sne-hub`` command.

Channels (hub, async_mail, dispatching) call the service layer; nothing here imports them.
"""
