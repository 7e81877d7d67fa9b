"""Attention & the Transformer Block: attention from scratch on real models."""
