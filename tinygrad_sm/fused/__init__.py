"""Fused ops for the hot paths of training: linear and the cross-entropies."""
