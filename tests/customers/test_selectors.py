import pytest

from customers.models import Customer
from customers.selectors import newest_matches
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("window", [4, 100])
def test_newest_matches_are_the_same_whether_found_among_recent_customers_or_by_index(
    monkeypatch, window
):
    # With a window of 4 a dense search is answered from the newest 4 customers, a sparse one
    # falls back to the indexes; with 100 (more than exist) both take the index path.
    monkeypatch.setattr("customers.selectors.RECENT_WINDOW", window)
    created = [CustomerFactory(name=f"{'Chen' if n % 5 else 'Smith'} {n}") for n in range(20)]
    dense = Customer.objects.filter(name__startswith="Chen")
    sparse = Customer.objects.filter(name__startswith="Smith")
    newest_chen = [c.pk for c in reversed(created) if c.name.startswith("Chen")][:3]
    newest_smith = [c.pk for c in reversed(created) if c.name.startswith("Smith")][:3]
    assert newest_matches(dense, limit=3) == newest_chen
    assert newest_matches(sparse, limit=3) == newest_smith
