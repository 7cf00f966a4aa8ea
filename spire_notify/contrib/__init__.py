"""Optional integrations with other software; each module imports its own extra."""
