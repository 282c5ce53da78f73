"""Simulators, demo and test hooks: never imported by a production module."""
