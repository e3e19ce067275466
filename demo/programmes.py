"""Demo data for coaching: merchants' products in the mid pool, running campaigns, Chuanliu grants."""

import datetime
import random
from decimal import Decimal

from django.utils import timezone

from tiers.choices import Category
from tiers.models import Influencer

from coaching.choices import EnrollmentPolicy, ProgramKind
from coaching.models import PoolProduct, Product, Program, TrafficRewardGrant

MERCHANTS = ["山野鲜果旗舰店", "花西子官方店", "南国食品", "小熊电器", "和田玉坊", "海澜之家", "babycare母婴", "良品铺子",
             "三只松鼠", "完美日记", "蕉下户外", "林氏家居"]
PRODUCTS = {
    Category.BEAUTY: ["氨基酸洁面乳", "持妆粉底液", "玻尿酸面膜10片", "防晒喷雾SPF50", "哑光口红"],
    Category.APPAREL: ["冰丝防晒衣", "高腰阔腿裤", "纯棉T恤三件装", "羊毛混纺大衣"],
    Category.FOOD: ["每日坚果30袋", "手工牛轧糖", "螺蛳粉5袋", "低糖燕麦片"],
    Category.FRESH: ["赣南脐橙5斤", "智利车厘子2斤", "阳澄湖大闸蟹礼盒", "云南高山小土豆"],
    Category.JADE: ["和田玉平安扣", "翡翠手镯", "南红玛瑙手串"],
    Category.HOME: ["乳胶枕", "四件套纯棉床品", "收纳箱三件套"],
    Category.DIGITAL: ["无线降噪耳机", "20000mAh充电宝", "智能手环"],
    Category.MOTHER_BABY: ["婴儿纸尿裤L码", "宝宝辅食米粉", "儿童保温杯"],
}
CAMPAIGNS = [
    {"code": "womens-day-mid-season", "name_zh": "3·8 女王节·腰部成长季", "name_en": "3.8 festival growth season",
     "description_zh": "腰部达人专属：报名即得流量扶持，大促期间优先推荐。",
     "description_en": "For mid creators: traffic support during the festival sale, priority in recommendations.",
     "enrollment_policy": EnrollmentPolicy.AUTO, "eligible_tiers": ["mid"], "traffic_support": 500_000,
     "starts": -10, "ends": 20},
    {"code": "double-11-seeding", "name_zh": "双11 种草季", "name_en": "Double 11 seeding season",
     "description_zh": "短视频+橱窗种草的达人报名，按种草成交给额外曝光。",
     "description_en": "Sign up to earn extra exposure for sales made through short videos and the storefront.",
     "enrollment_policy": EnrollmentPolicy.OPT_IN, "eligible_tiers": ["mid", "head"],
     "eligible_types": ["seeding", "vertical"], "traffic_support": 1_000_000, "capacity": 2_000, "starts": -5, "ends": 25},
    {"code": "first-live-week", "name_zh": "新人开播周", "name_en": "First live week",
     "description_zh": "新人和尾部达人连续开播7天，获得开播流量包。",
     "description_en": "Go live seven days in a row and get a traffic pack for new and tail creators.",
     "enrollment_policy": EnrollmentPolicy.OPT_IN, "eligible_tiers": ["newcomer", "tail"], "traffic_support": 50_000,
     "starts": -3, "ends": 11},
]


def seed_coaching_demo(*, seed: int) -> None:
    """Idempotent: existing demo products, campaigns and grants are left as they are."""
    rng = random.Random(seed)
    today = timezone.localdate()
    pool = Program.objects.get(code="mid-product-pool")
    if not Product.objects.exists():
        products = []
        for category, titles in PRODUCTS.items():
            for title in titles:
                for merchant in rng.sample(MERCHANTS, 3):
                    products.append(Product(
                        merchant=merchant, title=title, category=category,
                        price=Decimal(rng.choice([19.9, 39.9, 69, 99, 129, 199, 399, 899])).quantize(Decimal("0.01")),
                        commission_rate=Decimal(rng.choice([0.08, 0.12, 0.15, 0.2, 0.25, 0.3])).quantize(Decimal("0.0001")),
                        product_score=Decimal(rng.uniform(4.2, 5.0)).quantize(Decimal("0.01")),
                        shop_experience_score=Decimal(rng.uniform(4.0, 5.0)).quantize(Decimal("0.01")),
                        stock=rng.choice([0, 50, 300, 2000, 10000]),
                        status="sold_out" if rng.random() < 0.05 else "on_sale",
                    ))
        Product.objects.bulk_create(products)
        PoolProduct.objects.bulk_create(PoolProduct(pool=pool, product=p) for p in Product.objects.all())
    for spec in CAMPAIGNS:
        spec = dict(spec)
        starts, ends = spec.pop("starts"), spec.pop("ends")
        Program.objects.get_or_create(
            code=spec.pop("code"),
            defaults={**spec, "kind": ProgramKind.CAMPAIGN, "starts_on": today + datetime.timedelta(days=starts),
                      "ends_on": today + datetime.timedelta(days=ends)},
        )
    chuanliu = Program.objects.get(code="chuanliu")
    if not TrafficRewardGrant.objects.exists():
        creators = list(Influencer.objects.order_by("id").values_list("id", flat=True)[:300])
        grants = []
        for influencer_id in creators[::3]:
            for weeks_ago in range(rng.randint(1, 4)):
                end = today - datetime.timedelta(days=7 * weeks_ago + 1)
                grants.append(TrafficRewardGrant(
                    influencer_id=influencer_id, program=chuanliu, merchant=rng.choice(MERCHANTS),
                    impressions=rng.choice([5_000, 12_000, 30_000, 80_000]),
                    period_start=end - datetime.timedelta(days=6), period_end=end,
                ))
        TrafficRewardGrant.objects.bulk_create(grants, ignore_conflicts=True)
