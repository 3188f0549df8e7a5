"""The probabilistic record-linkage model: Splink (Fellegi-Sunter) running on DuckDB.

This module knows nothing of Django: it takes feature rows (see `FEATURE_COLUMNS`), trains or
loads a model and returns scored pairs with the comparison level each field fell into. Every
level has a reason code (`REASONS` in customers/dedup/reasons.py turns codes into sentences).

Fields that move together are compared together: street, postcode and city form one address
comparison, so that a customer who moved is not counted as different three times over.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
from splink.internals.exceptions import SplinkException

# One row per customer. Empty values are NULL so that blocking never pairs two blanks.
FEATURE_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("customer_id", pa.int64()),
    ("name", pa.string()),
    ("name_pinyin", pa.string()),
    ("name_key", pa.string()),
    ("family_name", pa.string()),
    ("given_name", pa.string()),
    ("birth_date", pa.string()),
    ("phone", pa.string()),
    ("email", pa.string()),
    ("email_user", pa.string()),
    ("id_index", pa.string()),
    ("id_checksummed", pa.bool_()),
    ("street", pa.string()),
    ("street_number", pa.string()),
    ("street_name", pa.string()),
    ("postcode", pa.string()),
    ("city", pa.string()),
    ("company", pa.string()),
    ("external_ids", pa.list_(pa.string())),
    ("changed", pa.bool_()),
)
FEATURE_SCHEMA = pa.schema(FEATURE_COLUMNS)


def _level(code: str, condition: str, m: float, u: float) -> dict[str, Any]:
    return {
        "sql_condition": condition,
        "label_for_charts": code,
        "m_probability": m,
        "u_probability": u,
    }


def _null(*columns: str) -> dict[str, Any]:
    condition = " OR ".join(f'"{c}_l" IS NULL OR "{c}_r" IS NULL' for c in columns)
    return {"sql_condition": condition, "label_for_charts": "null", "is_null_level": True}


def _else(code: str, m: float, u: float) -> dict[str, Any]:
    return _level(code, "ELSE", m, u)


_SAME_ADDRESS = '"street_l" = "street_r" AND "city_l" = "city_r"'
_SAME_PHONE = '"phone_l" = "phone_r"'
_SAME_EMAIL = '"email_l" = "email_r"'
_SAME_PLACE = '"postcode_l" = "postcode_r" OR "city_l" = "city_r"'
_SAME_NUMBER = '"street_number_l" = "street_number_r"'
_SIMILAR_STREET = 'jaro_winkler_similarity("street_name_l", "street_name_r") >= 0.9'
_SYLLABLES = "list_sort(string_split(\"name_pinyin_{side}\", ' '))"

# Levels run top to bottom; a pair takes the first that holds. The m and u probabilities are
# the priors used when a business has too few customers to estimate its own (EM replaces m,
# random sampling replaces u). Label = reason code.
COMPARISONS: tuple[dict[str, Any], ...] = (
    {
        "output_column_name": "name",
        "comparison_levels": [
            _null("name_pinyin"),
            # Common names count less: the weight follows how often this very name occurs
            # (`name_frequencies`), not the average name's. A quarter of it: the counts include
            # each person's own duplicates, and a half or whole adjustment cost true pairs of
            # common Chinese names on the labelled set (bench/README.md).
            dict(
                _level("same_name", '"name_l" = "name_r"', 0.70, 0.0005),
                tf_adjustment_column="name",
                tf_adjustment_weight=0.25,
            ),
            _level("same_name_sound", '"name_pinyin_l" = "name_pinyin_r"', 0.10, 0.0004),
            # The sound key is sorted letters: 李娜 (li na) and 李安 (li an) share it. Word order
            # counts as swapped only when the syllables are the same, or written together on
            # one side ("Xiaoming Wang" for 王小明), and only when one side is romanised:
            # 许阳 and 杨旭 are two names, not one turned round.
            _level(
                "name_order_swapped",
                '"name_key_l" = "name_key_r" AND ('
                f"{_SYLLABLES.format(side='l')} = {_SYLLABLES.format(side='r')} OR "
                f"len({_SYLLABLES.format(side='l')}) <> len({_SYLLABLES.format(side='r')}))"
                " AND NOT (regexp_matches(\"name_l\", '\\p{Han}') "
                "AND regexp_matches(\"name_r\", '\\p{Han}'))",
                0.05,
                0.0001,
            ),
            _level(
                "name_one_letter_off",
                'damerau_levenshtein("name_pinyin_l", "name_pinyin_r") <= 1',
                0.08,
                0.0008,
            ),
            # Pinyin of one family differs only in the given name, which Jaro-Winkler's weight
            # on the first letters forgives: the edit distance keeps "wang ping" from "wang hong".
            _level(
                "similar_name",
                'jaro_winkler_similarity("name_pinyin_l", "name_pinyin_r") >= 0.92 '
                'AND damerau_levenshtein("name_pinyin_l", "name_pinyin_r") <= 2',
                0.05,
                0.002,
            ),
            # Latin names written in parts: a typo in one part while the other agrees.
            _level(
                "given_name_typo",
                '"family_name_l" = "family_name_r" '
                'AND jaro_winkler_similarity("given_name_l", "given_name_r") >= 0.85',
                0.04,
                0.0003,
            ),
            _level(
                "family_name_typo",
                '"given_name_l" = "given_name_r" '
                'AND (jaro_winkler_similarity("family_name_l", "family_name_r") >= 0.88 '
                'OR damerau_levenshtein("family_name_l", "family_name_r") <= 2)',
                0.04,
                0.0003,
            ),
            _level(
                "given_and_family_name_swapped",
                '"given_name_l" = "family_name_r" AND "family_name_l" = "given_name_r"',
                0.01,
                0.00001,
            ),
            _else("different_name", 0.01, 0.9963),
        ],
    },
    {
        "output_column_name": "birth_date",
        "comparison_levels": [
            _null("birth_date"),
            _level("same_birth_date", '"birth_date_l" = "birth_date_r"', 0.90, 0.00005),
            _level(
                "birth_date_one_digit_off",
                'damerau_levenshtein("birth_date_l", "birth_date_r") <= 1',
                0.06,
                0.002,
            ),
            _level(
                "birth_day_and_month_swapped",
                'substr("birth_date_l", 1, 4) = substr("birth_date_r", 1, 4) '
                'AND substr("birth_date_l", 6, 2) = substr("birth_date_r", 9, 2) '
                'AND substr("birth_date_l", 9, 2) = substr("birth_date_r", 6, 2)',
                0.01,
                0.00005,
            ),
            _level(
                "same_birth_year",
                'substr("birth_date_l", 1, 4) = substr("birth_date_r", 1, 4)',
                0.02,
                0.015,
            ),
            _else("different_birth_date", 0.02, 0.98),
        ],
    },
    {
        "output_column_name": "id_number",
        "comparison_levels": [
            _null("id_index"),
            # Checksummed identity numbers are rarely mistyped: two different ones are two
            # people, whatever EM would make of a business's data; m stays as given.
            dict(
                _level("same_id_number", '"id_index_l" = "id_index_r"', 0.999, 0.000001),
                fix_m_probability=True,
            ),
            dict(
                _level(
                    "different_id_number",
                    '"id_checksummed_l" AND "id_checksummed_r"',
                    0.001,
                    0.999999,
                ),
                fix_m_probability=True,
            ),
            # Numbers without a check character (social security, membership, passport
            # numbers) are mistyped now and then: differing, they weigh less.
            _else("different_unchecked_id_number", 0.15, 0.999999),
        ],
    },
    {
        # A household shares its phone, its mailbox and its address: agreeing on all of them
        # is hardly more evidence than agreeing on one, so they are one comparison, and a
        # different name and birth date can outweigh it.
        "output_column_name": "contact",
        "comparison_levels": [
            {
                "sql_condition": '("phone_l" IS NULL OR "phone_r" IS NULL) '
                'AND ("email_l" IS NULL OR "email_r" IS NULL) '
                'AND ("city_l" IS NULL OR "city_r" IS NULL) '
                'AND ("postcode_l" IS NULL OR "postcode_r" IS NULL)',
                "label_for_charts": "null",
                "is_null_level": True,
            },
            _level("same_phone_and_email", f"{_SAME_PHONE} AND {_SAME_EMAIL}", 0.30, 0.000001),
            _level("same_phone_and_address", f"{_SAME_PHONE} AND {_SAME_ADDRESS}", 0.25, 0.000002),
            _level("same_email_and_address", f"{_SAME_EMAIL} AND {_SAME_ADDRESS}", 0.10, 0.000001),
            _level("same_phone", _SAME_PHONE, 0.15, 0.00001),
            _level("same_email", _SAME_EMAIL, 0.10, 0.00001),
            _level("same_email_user", '"email_user_l" = "email_user_r"', 0.03, 0.0002),
            _level("same_address", _SAME_ADDRESS, 0.04, 0.00002),
            _level(
                "similar_address",
                '"city_l" = "city_r" AND jaro_winkler_similarity("street_l", "street_r") >= 0.9',
                0.02,
                0.0005,
            ),
            # House number and street name, each allowed one slip while the other holds and
            # the postcode or town agrees.
            _level(
                "same_house_in_street",
                f"({_SAME_PLACE}) AND {_SAME_NUMBER} AND {_SIMILAR_STREET}",
                0.03,
                0.0001,
            ),
            _level(
                "same_street_and_postcode",
                f'"postcode_l" = "postcode_r" AND ({_SAME_NUMBER} OR {_SIMILAR_STREET})',
                0.02,
                0.0003,
            ),
            _level("same_postcode", '"postcode_l" = "postcode_r"', 0.01, 0.002),
            _level(
                "postcode_one_digit_off",
                'damerau_levenshtein("postcode_l", "postcode_r") <= 1 '
                f"AND ({_SAME_NUMBER} OR {_SIMILAR_STREET})",
                0.01,
                0.0005,
            ),
            _level("same_city", '"city_l" = "city_r"', 0.03, 0.05),
            # Nothing to compare but the place, which differs (a move, often).
            _level(
                "different_city",
                '("phone_l" IS NULL OR "phone_r" IS NULL) '
                'AND ("email_l" IS NULL OR "email_r" IS NULL)',
                0.04,
                0.4,
            ),
            _else("different_contact", 0.05, 0.547616),
        ],
    },
    {
        "output_column_name": "company",
        "comparison_levels": [
            _null("company"),
            _level("same_company", '"company_l" = "company_r"', 0.80, 0.0005),
            _level(
                "similar_company",
                'jaro_winkler_similarity("company_l", "company_r") >= 0.9',
                0.10,
                0.002,
            ),
            _else("different_company", 0.10, 0.9975),
        ],
    },
    {
        "output_column_name": "external_id",
        "comparison_levels": [
            {
                "sql_condition": '"external_ids_l" IS NULL OR "external_ids_r" IS NULL '
                'OR len("external_ids_l") = 0 OR len("external_ids_r") = 0',
                "label_for_charts": "null",
                "is_null_level": True,
            },
            _level(
                "same_external_id",
                'len(list_intersect("external_ids_l", "external_ids_r")) > 0',
                0.30,
                0.000001,
            ),
            _else("other_external_id", 0.70, 0.999999),
        ],
    },
)

# Which pairs are compared at all. Exact keys catch every pair sharing a phone, email, ID
# number or external id; the name's sound key (which ignores homophones, script and order)
# with a birth date, city or company catches the rest; birth date with city catches names
# mistyped beyond their sound; one part of a Latin name with the birth date or postcode catches
# a typo in the other part.
BLOCKING_RULES: tuple[dict[str, Any] | str, ...] = (
    'l."phone" = r."phone"',
    'l."email" = r."email"',
    'l."id_index" = r."id_index"',
    {"blocking_rule": 'l."external_ids" = r."external_ids"', "arrays_to_explode": ["external_ids"]},
    'l."name_key" = r."name_key" AND l."birth_date" = r."birth_date"',
    'l."name_key" = r."name_key" AND l."city" = r."city"',
    'l."name_key" = r."name_key" AND l."company" = r."company"',
    'l."birth_date" = r."birth_date" AND l."city" = r."city"',
    'l."email_user" = r."email_user" AND l."name_key" = r."name_key"',
    'l."email_user" = r."email_user" AND l."birth_date" = r."birth_date"',
    'l."family_name" = r."family_name" AND l."birth_date" = r."birth_date"',
    'l."given_name" = r."given_name" AND l."birth_date" = r."birth_date"',
    'l."family_name" = r."family_name" AND l."postcode" = r."postcode"',
    'l."birth_date" = r."birth_date" AND l."postcode" = r."postcode"',
)

# Priors for how often two customers picked at random are the same person.
PRIOR_MATCH_RATE = 1e-5
# Rules sure enough to count matches by when estimating that rate, and how many of all
# matches they are assumed to find.
DETERMINISTIC_RULES = (
    'l."id_index" = r."id_index"',
    'l."phone" = r."phone" AND l."name_key" = r."name_key"',
    'l."email" = r."email" AND l."name_key" = r."name_key"',
    'l."name" = r."name" AND l."birth_date" = r."birth_date"',
)
DETERMINISTIC_RECALL = 0.7
# Below this many customers a handful of pairs would swing the estimated match rate and the
# sampled u probabilities wildly; the priors stand.
MIN_CUSTOMERS_TO_ESTIMATE = 200
# EM sessions: each blocks on some fields and estimates the others; together they cover all.
# A session runs only when its block holds enough pairs to learn from.
EM_BLOCKS = (
    'l."phone" = r."phone"',
    'l."name_key" = r."name_key" AND l."birth_date" = r."birth_date"',
    'l."email" = r."email"',
    'l."postcode" = r."postcode" AND l."street_number" = r."street_number"',
)
U_SAMPLE_PAIRS = 2_000_000
# The names whose own frequency adjusts the weight of an exact name match: the most common
# ones (a rarer name keeps the average weight). Stored with the model, so that incremental
# runs, which see only a neighbourhood, weigh names as the full run did.
NAME_FREQUENCIES = "name_frequencies"
MAX_NAME_FREQUENCIES = 5_000


def prior_model() -> dict[str, Any]:
    """The model with prior parameters, for data too small to estimate its own."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "customer_id",
        "probability_two_random_records_match": PRIOR_MATCH_RATE,
        "comparisons": copy.deepcopy(list(COMPARISONS)),
        "blocking_rules_to_generate_predictions": list(BLOCKING_RULES),
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": True,
        "additional_columns_to_retain": [],
    }


def sound_probability(value: Any, fallback: float) -> float:
    """`value` if it is a probability a log-odds model can use (strictly between 0 and 1),
    else `fallback`. Estimates come out 0 when no pair fits a rule (no duplicates found by
    the sure rules, no random pair in a rare level) and 1 when every pair does."""
    if isinstance(value, int | float) and math.isfinite(value) and 0 < value < 1:
        return float(value)
    return fallback


@dataclass(frozen=True)
class ScoredPair:
    left: int
    right: int
    probability: float
    match_weight: float
    # (reason code, match weight in bits) per comparison that was not null, strongest first.
    reasons: tuple[tuple[str, float], ...]


class Features:
    """A DuckDB connection holding the feature table, filled batch by batch so that memory
    stays bounded by DuckDB's buffer manager rather than by Python objects."""

    TABLE = "customer_features"

    def __init__(self, *, memory_limit: str = "2GB", threads: int | None = None) -> None:
        self.connection = duckdb.connect(":memory:")
        self.connection.execute(f"SET memory_limit = '{memory_limit}'")
        if threads:
            self.connection.execute(f"SET threads = {int(threads)}")
        columns = ", ".join(f'"{name}" {_duckdb_type(kind)}' for name, kind in FEATURE_COLUMNS)
        self.connection.execute(f"CREATE TABLE {self.TABLE} ({columns})")
        self.count = 0

    def add(self, rows: Sequence[tuple]) -> None:
        if not rows:
            return
        columns = zip(*rows, strict=True)
        batch = pa.Table.from_arrays(
            [
                pa.array(column, type=kind)
                for column, (_, kind) in zip(columns, FEATURE_COLUMNS, strict=True)
            ],
            schema=FEATURE_SCHEMA,
        )
        self.connection.register("feature_batch", batch)
        self.connection.execute("INSERT INTO customer_features SELECT * FROM feature_batch")
        self.connection.unregister("feature_batch")
        self.count += len(rows)

    def close(self) -> None:
        self.connection.close()


def _duckdb_type(kind: pa.DataType) -> str:
    if kind == pa.int64():
        return "BIGINT"
    if kind == pa.bool_():
        return "BOOLEAN"
    if pa.types.is_list(kind):
        return "VARCHAR[]"
    return "VARCHAR"


def _linker(features: Features, model: dict[str, Any]):
    from splink import DuckDBAPI, Linker

    api = DuckDBAPI(connection=features.connection)
    table = api.register(Features.TABLE)
    settings = {key: value for key, value in model.items() if key != NAME_FREQUENCIES}
    # Splink logs every SQL step at INFO; the worker's log only needs warnings.
    linker = Linker(table, settings, log_level=logging.WARNING)
    # Without a registered lookup Splink would count names in the table at hand, which for an
    # incremental run is a neighbourhood of look-alikes.
    frequencies = pa.table(
        {
            "name": pa.array([name for name, _ in model.get(NAME_FREQUENCIES) or ()], pa.string()),
            "tf_name": pa.array([tf for _, tf in model.get(NAME_FREQUENCIES) or ()], pa.float64()),
        }
    )
    features.connection.register("name_frequency_batch", frequencies)
    features.connection.execute(
        "CREATE OR REPLACE TABLE name_frequency AS SELECT * FROM name_frequency_batch"
    ).fetchall()
    features.connection.unregister("name_frequency_batch")
    linker.table_management.register_term_frequency_lookup(api.register("name_frequency"), "name")
    return linker


def name_frequencies(features: Features) -> list[list[Any]]:
    """[name, share of named customers] for the most common names.

    Only names more frequent than a pair of records of one person (count 3 and up), so that a
    name shared by one duplicate pair keeps the level's average weight; and only with enough
    customers for the level's u to be sampled from the same data (a frequency is weighed
    against it), none below."""
    if features.count < MIN_CUSTOMERS_TO_ESTIMATE:
        return []
    return [
        list(row)
        for row in features.connection.execute(
            f"""
            SELECT name, count(*) / (SELECT count(name) FROM {Features.TABLE}) AS tf_name
            FROM {Features.TABLE} WHERE name IS NOT NULL
            GROUP BY name HAVING count(*) > 2
            ORDER BY count(*) DESC, name LIMIT {MAX_NAME_FREQUENCIES}
            """  # noqa: S608 (constants only)
        ).fetchall()
    ]


def _pairs_in_block(features: Features, rule: str) -> int:
    query = (
        f"SELECT count(*) FROM {Features.TABLE} l JOIN {Features.TABLE} r "  # noqa: S608
        f"ON l.customer_id < r.customer_id AND {rule}"
    )
    return features.connection.execute(query).fetchall()[0][0]


def train(features: Features, *, min_pairs: int, seed: int = 1) -> tuple[dict[str, Any], bool]:
    """The model for these customers, and whether EM estimated its m probabilities.

    From MIN_CUSTOMERS_TO_ESTIMATE customers on, the match rate comes from the pairs the sure
    rules find and u from random pairs; each EM session runs whose block holds at least
    `min_pairs` pairs. Whatever could not be estimated (too little data, an estimate of 0 or
    1) keeps its prior, so that every level keeps a finite weight."""
    frequencies = name_frequencies(features)
    linker = _linker(features, dict(prior_model(), **{NAME_FREQUENCIES: frequencies}))
    if features.count >= MIN_CUSTOMERS_TO_ESTIMATE:
        # Splink refuses when so many pairs satisfy a sure rule that the assumed recall
        # cannot hold; the prior rate stands then (and when no pair does: the rate is 0).
        with contextlib.suppress(SplinkException, ValueError):
            linker.training.estimate_probability_two_random_records_match(
                list(DETERMINISTIC_RULES), recall=DETERMINISTIC_RECALL
            )
        linker.training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=seed)
        linker = _linker(features, _sound(_saved(linker, frequencies)))
    trained = False
    for block in EM_BLOCKS:
        if _pairs_in_block(features, block) < min_pairs:
            continue
        linker.training.estimate_parameters_using_expectation_maximisation(
            block, estimate_without_term_frequencies=True
        )
        trained = True
    return _sound(_saved(linker, frequencies)), trained


def _saved(linker, frequencies: list[list[Any]]) -> dict[str, Any]:
    return dict(linker.misc.save_model_to_json(), **{NAME_FREQUENCIES: frequencies})


def _sound(model: dict[str, Any]) -> dict[str, Any]:
    """The model with a prior wherever an estimate is unusable: the match rate outside (0, 1);
    a level's m left unset by EM (no pair in its blocks fell into it) or u by sampling (no
    random pair did), or estimated as 0 or 1."""
    model["probability_two_random_records_match"] = sound_probability(
        model.get("probability_two_random_records_match"), PRIOR_MATCH_RATE
    )
    priors = {
        (comparison["output_column_name"], level["label_for_charts"]): level
        for comparison in COMPARISONS
        for level in comparison["comparison_levels"]
    }
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            prior = priors[(comparison["output_column_name"], level["label_for_charts"])]
            for key in ("m_probability", "u_probability"):
                if key in prior:
                    level[key] = sound_probability(level.get(key), prior[key])
    return model


def predict(
    features: Features,
    model: dict[str, Any],
    *,
    min_probability: float,
    only_changed: bool = False,
    batch_size: int = 10_000,
) -> Iterator[ScoredPair]:
    """Score every blocked pair at or above `min_probability`. With `only_changed`, only pairs
    with at least one customer marked changed are compared (incremental runs)."""
    # Matching columns bring the gamma (level) columns; intermediate ones the per-field weights.
    model = dict(model, retain_matching_columns=True, retain_intermediate_calculation_columns=True)
    if only_changed:
        model["blocking_rules_to_generate_predictions"] = [
            _only_changed(rule) for rule in BLOCKING_RULES
        ]
    linker = _linker(features, model)
    result = linker.inference.predict(threshold_match_probability=min_probability)
    names = [c["output_column_name"] for c in model["comparisons"]]
    labels = {
        c["output_column_name"]: {
            index: level["label_for_charts"]
            for index, level in enumerate(
                [lv for lv in c["comparison_levels"] if not lv.get("is_null_level")][::-1]
            )
        }
        for c in model["comparisons"]
    }
    columns = ["customer_id_l", "customer_id_r", "match_probability", "match_weight"]
    columns += [f"gamma_{name}" for name in names] + [f"mw_{name}" for name in names]
    # Identifiers only: the comparison names are this module's constants, the table Splink's.
    query = f"SELECT {', '.join(columns)} FROM {result.physical_name}"  # noqa: S608
    cursor = features.connection.execute(query)
    while batch := cursor.fetchmany(batch_size):
        for row in batch:
            left, right, probability, weight = row[:4]
            gammas = row[4 : 4 + len(names)]
            weights = row[4 + len(names) :]
            reasons = [
                (labels[name][gamma], round(weight, 2))
                for name, gamma, weight in zip(names, gammas, weights, strict=True)
                if gamma is not None and gamma >= 0
            ]
            reasons.sort(key=lambda reason: -abs(reason[1]))
            yield ScoredPair(
                left=min(left, right),
                right=max(left, right),
                probability=float(probability),
                match_weight=float(weight),
                reasons=tuple(reasons),
            )
    result.drop_table_from_database_and_remove_from_cache()


def _only_changed(rule: dict[str, Any] | str) -> dict[str, Any] | str:
    condition = '(l."changed" OR r."changed")'
    if isinstance(rule, str):
        return f"{rule} AND {condition}"
    return dict(rule, blocking_rule=f"{rule['blocking_rule']} AND {condition}")


def match_probability(weight: float) -> float:
    return 1 / (1 + 2 ** (-weight))
