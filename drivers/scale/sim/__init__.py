"""The scale simulator: a pty that answers Mettler Toledo 8217 and Magellan requests."""
