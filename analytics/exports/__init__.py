"""Customer lists to CSV or XLSX, by role: columns.py (what a file may hold, headed as the
import reads it), rows.py (the customers as cells, in chunks, masked), selectors.py (who may
export, whose exports one sees), services.py (starting, cancelling, downloading: audited) and
jobs.py (the worker's writer, the job kind, expired files).

The worker reads exactly the customers the list showed (customers.filters.listed_customers,
scoped to the user who asked), in primary-key chunks so that memory stays flat whatever the
size, masks personal data unless that user holds `export_personal_data`, and writes through
privacy.tabular (formula-safe). The file is written under a temporary name and only becomes
the job's file when complete: a killed worker leaves no half file that looks like an export.
"""
