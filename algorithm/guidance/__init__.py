"""Guidance channels for the network: geodesic distances, click maps and their encoding."""
