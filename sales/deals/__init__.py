"""Deals: pipelines and their stages, the board, the list and export, winning into a purchase."""
