"""Duplicate detection on records that are not Chinese and carry no phone or email: names in
parts, street addresses with house numbers, postcodes, birth dates and identity numbers without
a check character. FEBRL2 (public synthetic records with planted duplicates) goes through the
product's own import and find_duplicates, as a new user's file would."""

from __future__ import annotations

import datetime
import math

import pytest
from django.utils import timezone

from bench.dedup_set import quality
from bench.febrl import febrl2, found_links, import_and_scan, write_csv
from customers.dedup import linkage
from customers.dedup.features import SOURCE_FIELDS, feature_row
from customers.dedup.scan import SCAN_JOBS
from customers.models import Customer, DuplicateCandidate, DuplicateScan, ScanMode
from kernel.models import JobStatus
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("estimate", [0, 0.0, 1, 1.0, math.nan, math.inf, -0.2, 1.5, None, "x"])
def test_an_estimate_outside_zero_and_one_falls_back(estimate):
    assert linkage.sound_probability(estimate, 1e-5) == 1e-5


@pytest.mark.parametrize("estimate", [1e-9, 0.3, 0.999999])
def test_an_estimate_inside_zero_and_one_stands(estimate):
    assert linkage.sound_probability(estimate, 1e-5) == estimate


def test_match_rate_and_levels_keep_a_prior_when_no_pair_fits_the_sure_rules():
    """300 different people: the sure rules find no pair (a match rate of 0) and most levels
    no random pair (u of 0); the model still has a finite weight everywhere."""
    features = linkage.Features(memory_limit="256MB", threads=1)
    try:
        features.add(
            [
                feature_row(
                    {
                        **dict.fromkeys(SOURCE_FIELDS, ""),
                        "id": number,
                        "name": f"Person {number}",
                        "name_key": None,
                        "birth_date": datetime.date(1930 + number % 60, 1 + number % 12, 1),
                    }
                )
                for number in range(1, 301)
            ]
        )
        model, _ = linkage.train(features, min_pairs=1)
        pairs = list(linkage.predict(features, model, min_probability=0.5))
    finally:
        features.close()
    assert model["probability_two_random_records_match"] == linkage.PRIOR_MATCH_RATE
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            for key in ("m_probability", "u_probability"):
                if key in level:
                    assert 0 < level[key] < 1, (comparison["output_column_name"], level)
    assert pairs == []


def _imported(tmp_path, username: str, *, every: int) -> tuple[dict, set]:
    frame, truth = febrl2(every=every)
    path = tmp_path / "customers.csv"
    write_csv(frame, path)
    return import_and_scan(path, username=username), truth


def test_find_duplicates_over_records_without_phone_or_email(tmp_path, admin_user_role):
    """It failed with "math domain error": the sure rules (same ID number, same phone or email
    with the same name) found no pair among these, the match rate came out 0."""
    summary, truth = _imported(tmp_path, admin_user_role.username, every=12)
    assert summary["scan"]["customers_compared"] > 200
    assert DuplicateScan.objects.get().status == "done"
    _, found = found_links(min_probability=0.8)
    assert found & truth


def test_quality_on_febrl2_records_imported_through_the_product(tmp_path, admin_user_role):
    _, truth = _imported(tmp_path, admin_user_role.username, every=4)
    by_import, found = found_links(min_probability=0.8)
    measured = quality(found, truth)
    assert measured["precision"] >= 0.97, measured
    assert measured["recall"] >= 0.9, measured
    # The scan adds what exact keys at import could not see.
    assert measured["recall"] > quality(by_import, truth)["recall"], measured


def test_every_comparison_level_has_a_reason_a_reviewer_can_read():
    from customers.dedup.reasons import REASONS

    labels = {
        level["label_for_charts"]
        for comparison in linkage.COMPARISONS
        for level in comparison["comparison_levels"]
        if not level.get("is_null_level")
    }
    assert labels <= set(REASONS), labels - set(REASONS)


def test_an_incremental_run_finds_a_typo_in_a_latin_name_through_the_family_name():
    """Another given name spelling changes the name's sound key: the family name with the
    birth date (or the postcode) still brings the two together in an incremental run."""
    known = {
        "family_name": "Bruhn",
        "birth_date": datetime.date(1930, 2, 13),
        "street": "44 Forbes Street",
        "postcode": "4510",
        "country": "AU",
    }
    first = CustomerFactory(name="Sarah Bruhn", given_name="Sarah", city="Kellerberrin", **known)
    for number in range(20):
        CustomerFactory(name=f"Other Person{number}", country="AU", postcode=f"{6000 + number}")
    SCAN_JOBS.run(
        DuplicateScan.objects.create(
            mode=ScanMode.FULL, min_probability=0.8, status=JobStatus.QUEUED
        ).pk
    )
    Customer.objects.update(updated_at=timezone.now() - datetime.timedelta(hours=1))
    second = CustomerFactory(name="Sara Bruhn", given_name="Sara", **known)
    SCAN_JOBS.run(
        DuplicateScan.objects.create(
            mode=ScanMode.INCREMENTAL, min_probability=0.8, status=JobStatus.QUEUED
        ).pk
    )
    [candidate] = DuplicateCandidate.objects.all()
    assert (candidate.customer_a_id, candidate.customer_b_id) == (first.pk, second.pk)
    assert {"same_birth_date", "same_house_in_street"} <= {code for code, _ in candidate.reasons}
