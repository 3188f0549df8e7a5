"""Realistic synthetic CRM data as pure generator functions (no database access).

Used by ``manage.py seed_demo`` (a few thousand customers through the ORM) and by
``bench/generate.py`` (millions of rows through COPY); both write exactly what these functions
yield, so the demo and the benchmark look alike.

How it stays reproducible, fast and small in memory at ten million rows:

- Everything about customer number ``index`` is drawn from random generators seeded with
  ``(scenario.seed, index, stream)``, never from a shared one. Any pass over the customers
  can therefore re-derive a customer's plan, purchases or interactions without the others:
  the transactions pass regenerates exactly the purchases the customers pass summed up for
  ``value_grade`` and ``last_activity_at``, and nothing has to be kept between passes.
- Faker is called only to fill small pools once per process (``people.pools``); rows combine
  pool entries with ``random.Random`` draws (Faker per row would be ~50x slower).
- Primary keys are assigned here from caller-given start ids with the same arithmetic in
  every pass, so the writers can COPY children (lines, contacts, interactions) without
  reading ids back.

Rows are NamedTuples whose field names are the model's column attnames (``customer_id``, not
``customer``) and whose order is the column order a COPY needs; ``row._asdict()`` gives the
keyword arguments for the model. Values are already normalised the way customers.normalize
would store them (phone in E.164, lower-case email, canonical ID numbers); the ``*_raw``
columns hold the "as entered" variants. Timestamps are timezone-aware in the zone of
``Scenario.now``.

Only ``people.id_number_columns`` reads settings (the encryption keys); nothing here touches
the database.

draws         seeded streams, weighted choice, Poisson counts, hours of the day
scenario      Scenario and the row types
people        names, places, phones, emails, identity numbers, companies: one customer's identity
plans         what every pass needs to know about a customer (CustomerPlan)
purchases     products, purchases, value grade, lifecycle stage, transactions and their lines
interactions  interactions and follow-ups
customers     customers, contacts, external ids, stage changes, tags
"""
