from customers.imports.command import ImportCommand
from customers.models import ImportKind


class Command(ImportCommand):
    help = "Import interactions (calls, visits, complaints...) from a CSV, TSV or XLSX file."
    kind = ImportKind.INTERACTIONS
