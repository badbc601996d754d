"""See docs/INTERFACES.md."""
