"""Fakes of outside services for the tests."""
