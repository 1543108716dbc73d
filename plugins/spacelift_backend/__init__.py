"""spacelift_backend: placeholder until its issue lands; registers nothing."""
