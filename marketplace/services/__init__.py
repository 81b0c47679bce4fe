"""Use cases, one transaction each. Views and socket handlers call these and nothing deeper."""
