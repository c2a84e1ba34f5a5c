"""Lets the tests import the plugin from a checkout: pytest puts this folder on sys.path."""
