"""Alembic migrations of the people database, shipped inside the package.

They run on start (:meth:`qa.people.db.Database.migrate`), never from an ``alembic.ini``. A
new revision is a file in ``versions/`` written by hand; ``tests/qa/people/test_db.py``
checks that the models and the migrated schema agree on SQLite and PostgreSQL.
"""
