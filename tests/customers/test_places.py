"""Provinces and cities stored in one canonical form (customers/places.py, customers/normalize.py)
on every write path, found however they are written, and the migration that canonicalises the
rows stored before."""

import importlib

import pytest
import tablib
from django.apps import apps
from django.core.cache import cache

from customers import services
from customers.imports import jobs
from customers.merge import merge_customers
from customers.models import Customer
from customers.normalize import (
    NormalizationError,
    normalize_city,
    normalize_places,
    normalize_province,
    place_pinyin,
)
from customers.resources import CustomerResource
from customers.selectors import common_places, place_condition
from demo.data import people
from tests.customers.importfiles import csv_bytes, upload
from tests.factories import CustomerFactory

SHANGHAI_SPELLINGS = [
    "上海",
    "上海市",
    "上海 市",
    "Shanghai",
    "shanghai",
    "SHANGHAI",
    "Shanghai Shi",
    "shang hai",
    "Shanghai City",
    "ｓｈａｎｇｈａｉ",
]


@pytest.mark.parametrize("raw", SHANGHAI_SPELLINGS)
def test_every_spelling_of_shanghai_is_one_city(raw):
    assert normalize_city(raw, country="CN") == "上海市"
    assert normalize_province(raw, country="CN") == "上海市"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("广东省", "广东省"),
        ("广东", "广东省"),
        ("Guangdong", "广东省"),
        ("guangdong sheng", "广东省"),
        ("Guangdong Province", "广东省"),
        ("新疆", "新疆维吾尔自治区"),
        ("Xinjiang Uygur Autonomous Region", "新疆维吾尔自治区"),
        ("Inner Mongolia", "内蒙古自治区"),
        ("Shaanxi", "陕西省"),
        ("Shanxi", "山西省"),
        ("Hong Kong", "香港特别行政区"),
        ("Beijing", "北京市"),
        ("California", "California"),
    ],
)
def test_provinces_in_any_spelling_take_their_official_name(raw, expected):
    assert normalize_province(raw, country="CN") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("深圳", "深圳市"),
        ("Shenzhen", "深圳市"),
        ("北京", "北京市"),
        ("Peking", "北京市"),
        ("香港", "香港特别行政区"),
        ("Hong Kong", "香港特别行政区"),
        ("Xi'an", "西安市"),
        ("延边", "延边朝鲜族自治州"),
        ("Harbin", "哈尔滨市"),
        ("lvliang", "吕梁市"),
        ("Lüliang", "吕梁市"),
        ("Huangshi", "黄石市"),
        ("吉林", "吉林市"),
        # 海南 is the province; the prefecture 海南藏族自治州 (青海) only by its full name.
        ("海南", "海南"),
    ],
)
def test_cities_in_any_spelling_take_their_official_name(raw, expected):
    assert normalize_city(raw, country="CN") == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("new york", "US", "New York"),
        ("NEW  YORK", "US", "New York"),
        ("New York", "US", "New York"),
        ("münchen", "DE", "München"),
        ("MÜNCHEN", "DE", "München"),
        ("McAllen", "US", "McAllen"),
        # A city spelt like a Chinese one elsewhere stays what it is.
        ("Dali", "DE", "Dali"),
        # Unknown to the gazetteer: kept as typed, tidied, never lost.
        ("昆山 市", "CN", "昆山市"),
        ("Kunshan", "CN", "Kunshan"),
        # Two cities are spelt Suzhou (苏州 in 江苏, 宿州 in 安徽): without a province, as typed.
        ("Suzhou", "CN", "Suzhou"),
        ("", "CN", ""),
        (None, "CN", ""),
    ],
)
def test_other_places_are_kept_as_typed_and_tidied(raw, country, expected):
    assert normalize_city(raw, country=country) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        # Shop exports give states as codes (Shopify's Province Code, FEBRL's state).
        ("ON", "CA", "ON"),
        ("nsw", "AU", "NSW"),
        ("vic", "", "VIC"),
        ("ontario", "CA", "Ontario"),
        ("NEW SOUTH WALES", "AU", "New South Wales"),
        ("guangdong", "", "广东省"),
    ],
)
def test_a_state_code_stays_a_code_and_a_state_name_is_tidied(raw, country, expected):
    assert normalize_province(raw, country=country) == expected


def test_a_city_written_as_an_upper_case_code_is_kept():
    assert normalize_city("NYC", country="US") == "NYC"


def test_a_province_tells_apart_cities_spelt_alike():
    assert normalize_places(country="CN", province="Anhui", city="Suzhou")[:2] == (
        "安徽省",
        "宿州市",
    )
    assert normalize_places(country="CN", province="江苏", city="suzhou")[:2] == (
        "江苏省",
        "苏州市",
    )


def test_a_known_city_fills_an_empty_province_but_never_replaces_one():
    assert normalize_places(country="CN", province="", city="深圳") == (
        "广东省",
        "深圳市",
        "shenzhen",
    )
    # Which of the two is wrong is for staff to say.
    assert normalize_places(country="CN", province="北京", city="深圳")[:2] == ("北京市", "深圳市")
    assert normalize_places(country="CN", province="", city="昆山市") == ("", "昆山市", "kunshan")
    assert normalize_places(country="US", province="", city="boston") == ("", "Boston", "")


def test_place_pinyin_spells_chinese_cities_only():
    assert place_pinyin("上海市") == "shanghai"
    assert place_pinyin("延边朝鲜族自治州") == "yanbian"
    assert place_pinyin("昆山市") == "kunshan"
    assert place_pinyin("New York") == ""


def test_a_place_with_characters_nobody_typed_is_refused():
    with pytest.raises(NormalizationError):
        normalize_city("上海\ufffd", country="CN")


def test_demo_and_bench_places_are_already_canonical():
    for province, _weight, cities in people._PROVINCES:
        assert normalize_province(province, country="CN") == province
        for city in cities:
            assert normalize_places(country="CN", province=province, city=city[0])[:2] == (
                province,
                city[0],
            )
    for state, city, _zip, _areas in people._US_CITIES:
        assert normalize_places(country="US", province=state, city=city)[:2] == (state, city)


# --- Write paths -------------------------------------------------------------------------------


def _import(actor, content: bytes, **options) -> None:
    """A customer import of `content` (CSV) through the worker's steps, as the wizard runs it."""
    job = jobs.create_import(actor=actor, kind="customers", upload=upload("places.csv", content))
    jobs.configure_import(actor=actor, job=job, mapping=job.mapping, source_name="shop", **options)
    jobs.start_import(actor=actor, job=job, dry_run=False)
    jobs.IMPORT_JOBS.run(job.pk)


@pytest.mark.django_db
def test_services_store_the_canonical_place_with_its_pinyin():
    customer = services.create_customer(actor=None, name="陈静", city="shanghai")
    assert (customer.province, customer.city, customer.city_pinyin) == (
        "上海市",
        "上海市",
        "shanghai",
    )
    services.update_customer(actor=None, customer=customer, city="Shenzhen", province="")
    customer.refresh_from_db()
    assert (customer.province, customer.city, customer.city_pinyin) == (
        "广东省",
        "深圳市",
        "shenzhen",
    )
    # Only the city changes: the province the customer has stays.
    services.update_customer(actor=None, customer=customer, city="Beijing")
    customer.refresh_from_db()
    assert (customer.province, customer.city, customer.city_pinyin) == (
        "广东省",
        "北京市",
        "beijing",
    )
    services.update_customer(actor=None, customer=customer, country="US", city="new york")
    customer.refresh_from_db()
    assert (customer.city, customer.city_pinyin) == ("New York", "")


@pytest.mark.django_db
def test_the_audit_log_masks_the_city_and_leaves_its_pinyin_out():
    from privacy.models import AuditEvent

    customer = services.create_customer(actor=None, name="陈静", city="上海")
    changes = AuditEvent.objects.get(action="customer.create", target_id=str(customer.pk)).changes
    assert "city_pinyin" not in changes
    assert changes["city"][1] != "上海市"


@pytest.mark.django_db
def test_the_import_stores_the_same_places_as_the_services(admin_user_role, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    content = csv_bytes(
        [
            ["姓名", "手机号码", "省份", "城市"],
            ["陈静", "13800000001", "", "SHANGHAI"],
            ["王芳", "13800000002", "Guangdong", "shenzhen shi"],
            ["Anna Schmidt", "13800000003", "", "new york"],
            ["李雷", "13800000004", "安徽", "Suzhou"],
        ]
    )
    _import(admin_user_role, content)
    stored = {c.name: (c.province, c.city, c.city_pinyin) for c in Customer.objects.order_by("pk")}
    assert stored == {
        "陈静": ("上海市", "上海市", "shanghai"),
        "王芳": ("广东省", "深圳市", "shenzhen"),
        "Anna Schmidt": ("", "New York", ""),
        "李雷": ("安徽省", "宿州市", "suzhou"),
    }
    by_service = services.create_customer(
        actor=None, name="x", province="Guangdong", city="shenzhen shi"
    )
    assert (by_service.province, by_service.city, by_service.city_pinyin) == stored["王芳"]


@pytest.mark.django_db
def test_an_import_updating_a_customer_canonicalises_the_city(admin_user_role, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    existing = CustomerFactory(name="陈静", phone="13800000001", city="北京")
    content = csv_bytes([["姓名", "手机号码", "城市"], ["陈静", "13800000001", "shang hai"]])
    _import(admin_user_role, content, policy="overwrite")
    existing.refresh_from_db()
    assert (existing.city, existing.city_pinyin) == ("上海市", "shanghai")


@pytest.mark.django_db
def test_the_admin_import_stores_canonical_places(admin_user_role):
    data = tablib.Dataset(headers=["id", "name", "province", "city"])
    data.append(["", "王丽娟", "guangdong", "SHENZHEN"])
    CustomerResource(actor=admin_user_role).import_data(data, dry_run=False)
    wang = Customer.objects.get()
    assert (wang.province, wang.city, wang.city_pinyin) == ("广东省", "深圳市", "shenzhen")


@pytest.mark.django_db
def test_a_merge_takes_the_city_with_its_pinyin(admin_user_role):
    survivor = CustomerFactory(name="陈静", phone="13800000001")
    other = CustomerFactory(name="陈静", phone="13800000001", city="Hangzhou")
    merge_customers(actor=admin_user_role, survivor=survivor, others=[other])
    survivor.refresh_from_db()
    assert (survivor.province, survivor.city, survivor.city_pinyin) == (
        "浙江省",
        "杭州市",
        "hangzhou",
    )


# --- Existing rows -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_migration_canonicalises_the_places_stored_before():
    spellings = {
        "上海": ("", "上海"),
        "Shanghai": ("", "Shanghai"),
        "上海市": ("上海", "上海市"),
        "Shenzhen": ("Guangdong", "Shenzhen"),
        "Boston": ("Massachusetts", "boston"),
        "昆山": ("江苏", "昆山市"),
    }
    ids = {}
    for key, (province, city) in spellings.items():
        customer = CustomerFactory(name=key, country="US" if key == "Boston" else "CN")
        # As rows written before this release hold them: raw, without pinyin.
        Customer.objects.filter(pk=customer.pk).update(province=province, city=city)
        ids[key] = customer.pk
    migration = importlib.import_module("customers.migrations.0017_canonical_places")
    migration.canonicalise_places(apps, None)
    stored = {
        key: Customer.objects.values_list("province", "city", "city_pinyin").get(pk=pk)
        for key, pk in ids.items()
    }
    assert stored == {
        "上海": ("上海市", "上海市", "shanghai"),
        "Shanghai": ("上海市", "上海市", "shanghai"),
        "上海市": ("上海市", "上海市", "shanghai"),
        "Shenzhen": ("广东省", "深圳市", "shenzhen"),
        "Boston": ("Massachusetts", "Boston", ""),
        "昆山": ("江苏省", "昆山市", "kunshan"),
    }


# --- Reads -------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["上海", "上海市", "Shanghai", "shanghai shi"])
def test_a_place_condition_finds_the_city_however_it_is_written(value):
    shanghai = CustomerFactory(name="陈静", city="上海")
    CustomerFactory(name="王芳", city="北京")
    assert list(Customer.objects.filter(place_condition("city", value))) == [shanghai]
    assert list(Customer.objects.filter(place_condition("province", value))) == [shanghai]


@pytest.mark.django_db
def test_an_unknown_or_ambiguous_city_is_found_by_its_pinyin():
    kunshan = CustomerFactory(name="陈静", city="昆山市")
    suzhou = CustomerFactory(name="王芳", city="苏州")
    suzhou_anhui = CustomerFactory(name="李雷", city="宿州")
    for value in ("kunshan", "Kunshan", "昆山", "昆山市"):
        assert list(Customer.objects.filter(place_condition("city", value))) == [kunshan]
    assert set(Customer.objects.filter(place_condition("city", "Suzhou"))) == {
        suzhou,
        suzhou_anhui,
    }


@pytest.mark.django_db
def test_the_customer_list_filters_by_a_city_in_any_spelling(client, admin_user_role):
    client.force_login(admin_user_role)
    shanghai = CustomerFactory(name="陈静", city="上海")
    CustomerFactory(name="王芳", city="北京")
    for value in ("Shanghai", "上海", "上海市"):
        response = client.get("/customers/", {"city": value})
        assert [c.pk for c in response.context["customers"]] == [shanghai.pk], value
    response = client.get("/customers/", {"province": "shanghai"})
    assert [c.pk for c in response.context["customers"]] == [shanghai.pk]


@pytest.mark.django_db
def test_common_places_are_the_most_common_first():
    cache.clear()
    for city in ("上海", "上海市", "Shanghai", "北京", "Beijing", "深圳"):
        CustomerFactory(city=city)
    assert common_places("city") == ["上海市", "北京市", "深圳市"]
    assert common_places("province") == ["上海市", "北京市", "广东省"]
