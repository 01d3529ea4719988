"""Derived analysis datasets (ADaM-like) and the clinical rules that build them."""
