"""Survival analysis matched to R's ``survival`` and ``cmprsk`` packages."""
