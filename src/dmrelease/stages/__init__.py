"""Orchestration of core and adapters: one module per pipeline step."""
