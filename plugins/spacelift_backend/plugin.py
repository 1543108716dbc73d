"""Entry point of the spacelift_backend plugin (empty shell: registers nothing yet)."""
