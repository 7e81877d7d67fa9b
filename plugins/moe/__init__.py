"""Mixture of Experts: routing on real tokens, and more parameters for the same compute."""
