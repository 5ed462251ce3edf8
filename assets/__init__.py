"""Stylesheets (TCSS) of the wizard: package data beside this file."""
