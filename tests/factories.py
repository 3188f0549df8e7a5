"""Factories that create records through the services, like the app does."""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from customers import services as customer_services
from customers.models import Customer
from interactions import services as interaction_services
from interactions.models import Interaction, Transaction


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = "Test"
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def role(self, create, role_name, **kwargs):
        if create and role_name:
            self.groups.add(Group.objects.get(name=role_name))


class CustomerFactory(factory.Factory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    actor = None

    @classmethod
    def _create(cls, model_class, *args, actor=None, **kwargs):
        return customer_services.create_customer(actor=actor, **kwargs)


class TransactionFactory(factory.Factory):
    class Meta:
        model = Transaction

    customer = factory.SubFactory(CustomerFactory)
    occurred_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=3))
    channel = "store"
    amount = Decimal("199.00")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return interaction_services.record_transaction(actor=None, **kwargs)


class InteractionFactory(factory.Factory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    kind = "call"
    subject = "Asked about delivery"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return interaction_services.record_interaction(actor=None, **kwargs)
