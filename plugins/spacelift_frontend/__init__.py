"""spacelift_frontend: placeholder until its issue lands; registers nothing."""
