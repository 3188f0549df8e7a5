import pytest

from customers.models import Customer
from customers.selectors import newest_matches
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("window", [4, 100])
def test_newest_matches_are_the_same_whether_found_among_recent_customers_or_by_index(
    monkeypatch, window
):
    # With a window of 4 a dense search is answered from the newest 4 ids, a sparse one falls
    # back to the indexes; with 100 (more than were made) both are answered from the window.
    monkeypatch.setattr("customers.selectors.RECENT_WINDOW", window)
    created = [CustomerFactory(name=f"{'Chen' if n % 5 else 'Smith'} {n}") for n in range(20)]
    dense = Customer.objects.filter(name__startswith="Chen")
    sparse = Customer.objects.filter(name__startswith="Smith")
    newest_chen = [c.pk for c in reversed(created) if c.name.startswith("Chen")][:3]
    newest_smith = [c.pk for c in reversed(created) if c.name.startswith("Smith")][:3]
    assert newest_matches(dense, limit=3) == newest_chen
    assert newest_matches(sparse, limit=3) == newest_smith


def test_a_window_holding_too_few_matches_widens_to_where_their_density_says_the_rest_are(
    monkeypatch, django_assert_num_queries
):
    # One customer in three matches: the newest 4 ids hold one of the 3 wanted, so the window
    # widens by what that density says (to 15 ids) instead of reading through the indexes.
    monkeypatch.setattr("customers.selectors.RECENT_WINDOW", 4)
    monkeypatch.setattr("customers.selectors.WIDEST_WINDOW", 100)
    created = [CustomerFactory(name=f"{'Lee' if n % 3 == 0 else 'Park'} {n}") for n in range(20)]
    newest_lee = [c.pk for c in reversed(created) if c.name.startswith("Lee")][:3]
    with django_assert_num_queries(3):  # the newest id, the window, the widened window
        assert newest_matches(Customer.objects.filter(name__startswith="Lee"), limit=3) == (
            newest_lee
        )
