from customers.imports.command import ImportCommand
from customers.models import ImportKind


class Command(ImportCommand):
    help = "Import customers from a CSV, TSV or XLSX file and print a JSON summary."
    kind = ImportKind.CUSTOMERS
