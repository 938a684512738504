//! Store stage: the `SQLite` evidence store, its schema, ledger and typed queries.
