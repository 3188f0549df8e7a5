"""Store every existing province and city in its canonical form, with the city's pinyin.

Set-based: the distinct (country, province, city) triples are few even among a million
customers (a few thousand spellings of a few hundred places), so each one that changes is one
UPDATE through the city and province indexes of 0016, not a save per customer. The forms come
from customers.normalize.normalize_places, as every write path stores them. Not reversible in
data: the spellings it replaced are not kept (going back leaves the canonical forms).
"""

from django.db import migrations

from customers.normalize import NormalizationError, normalize_places


def canonicalise_places(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    triples = (
        Customer.objects.exclude(province="", city="")
        .order_by()
        .values_list("country", "province", "city")
        .distinct()
    )
    for country, province, city in list(triples):
        try:
            canonical = normalize_places(country=country, province=province, city=city)
        except NormalizationError:
            continue  # characters nobody typed, refused since 0012: left for staff to correct
        new_province, new_city, city_pinyin = canonical
        if (new_province, new_city, city_pinyin) != (province, city, ""):
            Customer.objects.filter(country=country, province=province, city=city).update(
                province=new_province, city=new_city, city_pinyin=city_pinyin
            )


class Migration(migrations.Migration):
    dependencies = [("customers", "0016_city_pinyin")]

    operations = [migrations.RunPython(canonicalise_places, migrations.RunPython.noop)]
