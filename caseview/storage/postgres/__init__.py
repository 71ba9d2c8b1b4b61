"""A team's case store on PostgreSQL: the schema, its security, and installing it.

``schema.sql`` and ``security.sql`` are the database's definition; :mod:`.install`
applies them and manages login roles. Nothing here imports Qt or sqlite3.
"""
