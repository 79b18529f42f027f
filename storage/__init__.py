"""Every SQL statement of the gateway lives here. Functions take a connection or an engine."""
