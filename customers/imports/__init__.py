"""Bringing customers (and, through interactions.imports, orders and interactions) in from files.

files    reads CSV, TSV and XLSX safely: encoding, delimiter, hostile files
mapping  suggests which column holds which field and knows common export formats
fields   turns one row's raw cells into clean values, with per-cell issues
customer_rows  matches and writes a batch of customer rows (the customer import's service)
jobs     the ImportJob lifecycle: start, run in batches, cancel, resume, error report
views, forms, urls  the pages at /imports/: upload, map, preview, progress, report
"""
