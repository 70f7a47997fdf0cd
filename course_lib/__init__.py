"""Optimization for training neural networks: the course library."""
