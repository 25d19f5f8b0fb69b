"""Talking to the Hub: the page walker and its retry policy."""
