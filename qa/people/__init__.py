"""The people side of citeqa: users, access to collections, saved conversations, feedback.

Documents live in Chroma; what people do lives in an SQL database (SQLite by default,
PostgreSQL by URL), reached only through this package.
"""
