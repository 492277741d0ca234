"""Cortex execution layers (k3s, UniFi API, UniFi SSH) and the telemetry layer, each a small HTTP service."""
