-- One-time PostgreSQL setup for innbyggerpost (run as a superuser: psql -f deploy/postgresql.sql).
-- Then set INNBYGGERPOST_DATABASE_URL and run `innbyggerpost migrate` (the web unit does it on start).
CREATE ROLE innbyggerpost LOGIN PASSWORD 'CHANGE-ME';
CREATE DATABASE innbyggerpost OWNER innbyggerpost ENCODING 'UTF8';
-- Each gunicorn worker process holds up to 15 connections (pool 5 + overflow 10), each delivery
-- worker the same: size max_connections (or a pgbouncer in transaction mode) for web+worker processes.
