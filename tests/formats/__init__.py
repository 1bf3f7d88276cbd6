"""Tests of the framework-free formats package (no database, no Django)."""
