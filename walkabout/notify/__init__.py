"""Messages to people: kinds, email backends and message composition."""
