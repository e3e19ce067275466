"""factory_boy factories for coaching."""

from decimal import Decimal

import factory
from django.utils import timezone

from coaching.choices import EnrollmentPolicy, ProgramKind
from coaching.models import PoolProduct, Product, Program


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    code = factory.Sequence(lambda n: f"programme-{n}")
    kind = ProgramKind.CAMPAIGN
    name_zh = factory.Sequence(lambda n: f"活动{n}")
    name_en = factory.Sequence(lambda n: f"Campaign {n}")
    enrollment_policy = EnrollmentPolicy.AUTO
    eligible_tiers = factory.LazyFunction(lambda: ["mid"])
    starts_on = factory.LazyFunction(lambda: timezone.localdate() - timezone.timedelta(days=400))
    ends_on = factory.LazyFunction(lambda: timezone.localdate() + timezone.timedelta(days=400))
    traffic_support = 500_000
    exit_grace_days = 7


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    merchant = factory.Sequence(lambda n: f"商家{n}")
    title = factory.Sequence(lambda n: f"好物{n}")
    category = "beauty"
    price = Decimal("99.00")
    commission_rate = Decimal("0.2000")
    product_score = Decimal("4.80")
    shop_experience_score = Decimal("4.70")
    stock = 1000


def pool_with_products(pool, count, **product_kwargs):
    products = ProductFactory.create_batch(count, **product_kwargs)
    PoolProduct.objects.bulk_create(PoolProduct(pool=pool, product=p) for p in products)
    return products
