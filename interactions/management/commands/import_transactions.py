from customers.imports.command import ImportCommand
from customers.models import ImportKind


class Command(ImportCommand):
    help = "Import orders (one row per order line) from a CSV, TSV or XLSX file; JSON summary."
    kind = ImportKind.TRANSACTIONS
