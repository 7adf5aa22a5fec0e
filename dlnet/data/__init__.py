"""Dataset adapters: each turns one source into the same per-cycle table.

The common table has one row per (cell, cycle): `cell_id` (str), `cycle` (int, 1-based,
increasing), and either `capacity_ah` (adapters of measured data, cleaned and divided by a
reference capacity later) or `soh` (series that are already SOH).
"""
