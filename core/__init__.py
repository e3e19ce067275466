"""The ground floor: what every app stands on (outbox, run kernel, admin rules, language, validation, loading, files)."""
