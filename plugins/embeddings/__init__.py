"""Embeddings & the Dot Product: vector arithmetic, nearest neighbours and similarity on MiniLM."""
