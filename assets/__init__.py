"""Stylesheets (TCSS) of the wizard, loaded with importlib.resources."""
