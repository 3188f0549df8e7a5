"""Which column holds which field: the fields each kind of import accepts, the header names
people use for them in English and Chinese, and the layouts of known exports (Shopify)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from customers.custom_fields.selectors import defined_fields


@dataclass(frozen=True)
class ImportField:
    key: str
    label: str | Promise
    synonyms: tuple[str, ...] = ()
    # Several columns may feed one field (Address1 + Address2): their values are joined.
    joins: bool = False
    # Several columns may each hold a whole value of the field (Phone, Default Address Phone,
    # Billing Phone): the first valid one is the field's value and the others are kept
    # beside it. Columns named in `fallbacks` come after the others, in that order; the rest
    # keep the file's order.
    several: bool = False
    fallbacks: tuple[str, ...] = ()
    # A custom field's definition (customers/custom_fields/), whose key is "custom.<key>".
    definition: Any = None

    @property
    def takes_several_columns(self) -> bool:
        return self.joins or self.several

    def preference(self, header: str) -> int:
        """Where a column of this field stands among its several: 0 for a column of the
        field itself, then the order of `fallbacks`."""
        key = header_key(header)
        return next((rank for rank, name in enumerate(self.fallbacks, start=1) if name == key), 0)


IGNORE = ""

# Phones that come with an address in shop exports (Shopify's customers and orders, WooCommerce's
# billing_phone / shipping_phone, Taobao's and Youzan's 收货人手机): the customer's own phone
# column, when filled, comes first.
ADDRESS_PHONES = (
    "default address phone",
    "billing phone",
    "billing address phone",
    "shipping phone",
    "shipping address phone",
    "收货人手机",
    "收货人手机号",
    "收货人电话",
    "收件人手机",
    "收件人电话",
)

CUSTOMER_FIELDS: tuple[ImportField, ...] = (
    ImportField(
        "external_id",
        _("Customer id in the source system"),
        (
            "id",
            "customer id",
            "客户id",
            "客户编号",
            "会员号",
            "会员编号",
            "会员卡号",
            "会员id",
            "编号",
            "外部编号",
            "buyer id",
            "member id",
        ),
    ),
    ImportField(
        "name",
        _("Name"),
        (
            "name",
            "full name",
            "customer name",
            "customer",
            "姓名",
            "客户名称",
            "客户姓名",
            "顾客姓名",
            "会员姓名",
            "会员名",
            "名称",
            "联系人姓名",
        ),
    ),
    ImportField(
        "family_name", _("Family name"), ("last name", "surname", "family name", "lastname", "姓")
    ),
    ImportField(
        "given_name", _("Given name"), ("first name", "given name", "firstname", "名", "名字")
    ),
    ImportField("kind", _("Person or company"), ("kind", "type", "customer type", "客户类型")),
    ImportField("gender", _("Gender"), ("gender", "sex", "性别")),
    ImportField(
        "birth_date",
        _("Birth date"),
        (
            "birthday",
            "birth date",
            "birthdate",
            "date of birth",
            "dob",
            "生日",
            "出生日期",
            "出生年月日",
            "出生年月",
        ),
    ),
    ImportField(
        "phone",
        _("Mobile phone"),
        (
            "phone",
            "mobile",
            "mobile phone",
            "mobile number",
            "cell",
            "cellphone",
            "telephone",
            "tel",
            "phone number",
            "手机",
            "手机号",
            "手机号码",
            "电话",
            "联系电话",
            "电话号码",
            "移动电话",
            "联系方式",
            "联系手机",
            "买家手机",
            "买家手机号",
            *ADDRESS_PHONES,
        ),
        several=True,
        fallbacks=ADDRESS_PHONES,
    ),
    ImportField(
        "email",
        _("Email"),
        (
            "email",
            "e-mail",
            "email address",
            "mail",
            "邮箱",
            "电子邮箱",
            "电子邮件",
            "邮件",
            "邮箱地址",
        ),
    ),
    ImportField(
        "id_document_kind", _("Identity document type"), ("id type", "证件类型", "证件种类")
    ),
    ImportField(
        "id_number",
        _("Identity number"),
        (
            "id number",
            "national id",
            "id card",
            "身份证",
            "身份证号",
            "身份证号码",
            "证件号",
            "证件号码",
        ),
    ),
    ImportField(
        "country",
        _("Country"),
        (
            "country code",
            "country",
            "国家",
            "国家/地区",
            "国家地区",
            "default address country code",
        ),
    ),
    ImportField(
        "province",
        _("Province"),
        ("province", "state", "region", "省", "省份", "所在省份", "default address province code"),
    ),
    ImportField(
        "city", _("City"), ("city", "town", "城市", "市", "所在城市", "default address city")
    ),
    ImportField("district", _("District"), ("district", "county", "区", "区县", "县区", "区域")),
    ImportField(
        "street",
        _("Street address"),
        (
            "address",
            "street",
            "address1",
            "address2",
            "street address",
            "地址",
            "详细地址",
            "街道",
            "街道地址",
            "收货地址",
            "联系地址",
            "default address address1",
            "default address address2",
        ),
        joins=True,
    ),
    ImportField(
        "postcode",
        _("Postcode"),
        ("zip", "zip code", "postcode", "postal code", "邮编", "邮政编码", "default address zip"),
    ),
    ImportField(
        "company_name",
        _("Company"),
        (
            "company",
            "company name",
            "organisation",
            "organization",
            "公司",
            "公司名称",
            "单位",
            "工作单位",
            "企业名称",
            "default address company",
        ),
    ),
    ImportField("industry", _("Industry"), ("industry", "sector", "行业", "所属行业")),
    ImportField("website", _("Website"), ("website", "web", "url", "网站", "网址", "官网")),
    ImportField(
        "lifecycle_stage", _("Lifecycle stage"), ("stage", "lifecycle stage", "阶段", "客户阶段")
    ),
    ImportField("value_grade", _("Value grade"), ("grade", "等级", "客户等级", "价值等级")),
    ImportField(
        "source_channel",
        _("Source channel"),
        ("source", "channel", "source channel", "来源", "渠道", "来源渠道", "客户来源"),
    ),
    ImportField("source_detail", _("Source detail"), ("source detail", "来源说明", "来源详情")),
    ImportField("tags", _("Tags"), ("tags", "tag", "labels", "标签", "客户标签"), joins=True),
    ImportField(
        "notes",
        _("Notes"),
        ("notes", "note", "remarks", "comment", "comments", "备注", "说明", "备注信息"),
        joins=True,
    ),
    ImportField(
        "consent_email",
        _("Email marketing consent"),
        (
            "accepts email marketing",
            "accepts marketing",
            "email consent",
            "email opt in",
            "邮件营销",
            "同意邮件营销",
        ),
    ),
    ImportField(
        "consent_sms",
        _("SMS marketing consent"),
        ("accepts sms marketing", "sms consent", "sms opt in", "短信营销", "同意短信营销"),
    ),
    ImportField(
        "consent_phone",
        _("Phone marketing consent"),
        ("phone consent", "call consent", "电话营销", "同意电话营销"),
    ),
)


def custom_import_fields(target: str) -> tuple[ImportField, ...]:
    """A field per custom field of `target` records (not archived), found by its label in
    either language or its key."""
    return tuple(
        ImportField(
            definition.name,
            definition.label,
            tuple(
                name for name in (definition.label_en, definition.label_zh, definition.key) if name
            ),
            definition=definition,
        )
        for definition in defined_fields(target)
    )


@dataclass(frozen=True)
class KnownFormat:
    """An export layout recognised by its headers, with the mapping it implies."""

    key: str
    label: str
    signature: frozenset[str]
    mapping: dict[str, str]
    source_name: str


_SHOPIFY_CUSTOMERS = {
    "customer id": "external_id",
    "first name": "given_name",
    "last name": "family_name",
    "email": "email",
    "accepts email marketing": "consent_email",
    "accepts marketing": "consent_email",
    "accepts sms marketing": "consent_sms",
    "company": "company_name",
    "default address company": "company_name",
    "address1": "street",
    "address2": "street",
    "default address address1": "street",
    "default address address2": "street",
    "city": "city",
    "default address city": "city",
    "province code": "province",
    "default address province code": "province",
    "country code": "country",
    "default address country code": "country",
    "zip": "postcode",
    "default address zip": "postcode",
    "phone": "phone",
    "default address phone": "phone",
    "tags": "tags",
    "note": "notes",
}
KNOWN_FORMATS: dict[str, tuple[KnownFormat, ...]] = {
    "customers": (
        KnownFormat(
            key="shopify_customers",
            label="Shopify",
            signature=frozenset(
                {"first name", "last name", "email", "total spent", "total orders"}
            ),
            mapping=_SHOPIFY_CUSTOMERS,
            source_name="shopify",
        ),
    ),
}

_DECORATION = re.compile(r"[(（\[【].*?[)）\]】]|[*＊:：]")
_SEPARATORS = re.compile(r"[\s_\-.]+")


def header_key(header: str) -> str:
    """A header reduced to what identifies it: "手机号码（必填）*" -> "手机号码",
    "E_Mail" -> "e mail"."""
    text = _DECORATION.sub("", header).casefold()
    return _SEPARATORS.sub(" ", text).strip()


def _compact(key: str) -> str:
    return key.replace(" ", "")


def known_format(kind: str, headers: Sequence[str]) -> KnownFormat | None:
    keys = {header_key(header) for header in headers}
    for candidate in KNOWN_FORMATS.get(kind, ()):
        if candidate.signature <= keys:
            return candidate
    return None


def suggest_mapping(fields: Sequence[ImportField], kind: str, headers: Sequence[str]) -> list[str]:
    """One field key (or IGNORE) per column: from a known export layout, else from the header
    names. A field is suggested for one column only, unless several columns may feed it."""
    layout = known_format(kind, headers)
    if layout is not None:
        return _without_repeats(
            fields, [layout.mapping.get(header_key(header), IGNORE) for header in headers]
        )
    by_synonym: dict[str, str] = {}
    for import_field in fields:
        for synonym in (import_field.key, *import_field.synonyms, *_labels(import_field)):
            by_synonym.setdefault(_compact(header_key(synonym)), import_field.key)
    return _without_repeats(
        fields, [by_synonym.get(_compact(header_key(header)), IGNORE) for header in headers]
    )


def _labels(import_field: ImportField) -> list[str]:
    """The field's label in every language: files this product exported use them as headers."""
    labels = []
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            labels.append(str(import_field.label))
    return labels


def _without_repeats(fields: Sequence[ImportField], mapping: list[str]) -> list[str]:
    joins = {field.key for field in fields if field.takes_several_columns}
    seen: set[str] = set()
    result = []
    for key in mapping:
        if key and key not in joins and key in seen:
            key = IGNORE
        seen.add(key)
        result.append(key)
    return result


def mapping_from_template(template: dict[str, str], headers: Sequence[str]) -> list[str]:
    """Apply a saved {header: field} template to a file's headers (matched loosely)."""
    by_key = {header_key(header): key for header, key in template.items()}
    return [by_key.get(header_key(header), IGNORE) for header in headers]
