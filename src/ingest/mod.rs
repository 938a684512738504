//! Ingest stage: parsing the outside world into typed records with provenance.
