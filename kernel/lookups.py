"""`field__any=values`: the `in` lookup with the values as one array parameter on PostgreSQL
(`column = ANY(%s)`), planned as `column IN (...)` is (an index probe per value); elsewhere
exactly `in`.

An import batch looks up to 2,000 values of a column at a time. Written as `IN (%s, %s, ...)`,
Django and psycopg spent about 12 ms a query on building and converting the placeholders
(bench/imports.py's machine), more than PostgreSQL spent finding the rows; with one array
parameter the query's text is the same whatever the number of values.

Fields only, not relations: a ForeignKey reads the lookups registered on relations
(`customer_id__any` is refused with "Unsupported lookup"), so those keep `in`."""

from django.core.exceptions import EmptyResultSet
from django.db.models import Field
from django.db.models.lookups import In


@Field.register_lookup
class Any(In):
    lookup_name = "any"

    def as_sql(self, compiler, connection):
        if connection.vendor != "postgresql" or not self.rhs_is_direct_value():
            return super().as_sql(compiler, connection)
        # As `in` reads the values: NULL equals nothing, and no values match nothing.
        values = [value for value in self.rhs if value is not None]
        if not values:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        placeholders, rhs_params = self.batch_process_rhs(compiler, connection, values)
        if any(placeholder != "%s" for placeholder in placeholders):
            return super().as_sql(compiler, connection)  # a field that wraps its values in SQL
        return f"{lhs} = ANY(%s)", (*lhs_params, list(rhs_params))
