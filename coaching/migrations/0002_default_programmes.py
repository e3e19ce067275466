"""Ship the evergreen programmes: the newcomer village curriculum, the mid pool, Chuanliu, account management."""

from django.db import migrations

# Frozen here so this migration means the same thing forever; ops edit the rows in the admin.
PROGRAMMES = [
    {
        "code": "newcomer-village",
        "kind": "newcomer_village",
        "name_zh": "达人新手村",
        "name_en": "Newcomer village",
        "description_zh": "给新入驻和尾部达人的入门课程：从开通橱窗到第一场直播、第一条带货短视频，再到稳定的口碑。",
        "description_en": "The starter curriculum for new and tail creators: from setting up the storefront to the "
                          "first live session and product video, to a steady reputation.",
        "enrollment_policy": "auto",
        "eligible_tiers": ["newcomer", "tail"],
        "exit_grace_days": 0,
        "stages": [
            {
                "name_zh": "入门：认识平台", "name_en": "Getting started",
                "tasks": [
                    {"kind": "lesson", "title_zh": "三大指引：低价好物、优质内容、贴心服务",
                     "title_en": "The three guideposts: good value, quality content, caring service",
                     "body_zh": "平台把流量给三类行为：价格有竞争力的好货、真实有用的内容、及时贴心的售后。",
                     "body_en": "The platform rewards three things with traffic: good products at good prices, "
                                "genuine useful content, and prompt, caring after-sales service."},
                    {"kind": "task", "title_zh": "开通并布置橱窗", "title_en": "Set up your storefront",
                     "check_by": "metric", "criterion": {"metric": "storefront_gmv", "op": ">", "value": 0}},
                ],
            },
            {
                "name_zh": "开张：第一笔成交", "name_en": "First sales",
                "tasks": [
                    {"kind": "task", "title_zh": "完成第一场带货直播", "title_en": "Hold your first selling live session",
                     "check_by": "metric", "criterion": {"metric": "live_sessions", "op": ">=", "value": 1}},
                    {"kind": "task", "title_zh": "发布第一条带货短视频", "title_en": "Post your first product short video",
                     "check_by": "metric", "criterion": {"metric": "video_gmv", "op": ">", "value": 0}},
                    {"kind": "task", "title_zh": "累计成交10单", "title_en": "Reach your first 10 orders",
                     "check_by": "metric", "criterion": {"metric": "orders", "op": ">=", "value": 10}},
                    {"kind": "lesson", "title_zh": "选品入门：从快分销货盘挑第一批商品",
                     "title_en": "Picking products: your first picks from the distribution pool",
                     "body_zh": "先选和你内容相关、商品分和店铺体验分都高的商品，佣金其次。",
                     "body_en": "Start with products close to your content and with high product and shop "
                                "experience scores; commission comes second."},
                ],
            },
            {
                "name_zh": "口碑：稳定经营", "name_en": "Reputation",
                "exit_criteria": [{"metric": "active_days", "op": ">=", "value": 7}],
                "tasks": [
                    {"kind": "task", "title_zh": "带货口碑分达到4.5", "title_en": "Reach a reputation score of 4.5",
                     "check_by": "metric", "criterion": {"metric": "reputation", "op": ">=", "value": 4.5}},
                    {"kind": "lesson", "title_zh": "售后与服务：把一次购买变成回头客",
                     "title_en": "After-sales: turning one purchase into a repeat buyer",
                     "body_zh": "48小时内发货、主动告知物流、退款不拖延，是口碑分最快的提升方式。",
                     "body_en": "Ship within 48 hours, keep buyers informed, and refund without delay: the fastest "
                                "ways to lift your reputation score."},
                ],
            },
        ],
    },
    {
        "code": "mid-product-pool",
        "kind": "product_pool",
        "name_zh": "快分销·腰部精选货盘",
        "name_en": "Distribution pool for mid creators",
        "description_zh": "商家为腰部达人精选的高佣好货，按你的类目和类型推荐。",
        "description_en": "Merchants' high-commission products curated for mid creators, matched to your category and type.",
        "enrollment_policy": "auto",
        "eligible_tiers": ["mid", "head"],
        "reputation_floor": "4.0",
        "selection_limit": 20,
        "exit_grace_days": 7,
    },
    {
        "code": "chuanliu",
        "kind": "traffic_reward",
        "name_zh": "川流计划",
        "name_en": "Chuanliu plan",
        "description_zh": "为商家分销带来的买家会被推荐到商家直播间，你获得流量奖励。",
        "description_en": "Buyers you bring to a merchant are recommended to the merchant's live room, and you earn "
                          "traffic rewards.",
        "enrollment_policy": "opt_in",
        "eligible_tiers": ["tail", "mid", "head"],
        "reputation_floor": "4.0",
        "exit_grace_days": 14,
    },
    {
        "code": "head-account-management",
        "kind": "account_management",
        "name_zh": "头部达人客户经理",
        "name_en": "Account management for head creators",
        "description_zh": "专属客户经理：大促排期、货盘直采和经营复盘。",
        "description_en": "A dedicated account manager: big-sale scheduling, direct sourcing and business reviews.",
        "enrollment_policy": "auto",
        "eligible_tiers": ["head"],
        "exit_grace_days": 14,
    },
]


def create_programmes(apps, schema_editor):
    Program = apps.get_model("coaching", "Program")
    Stage = apps.get_model("coaching", "Stage")
    Task = apps.get_model("coaching", "Task")
    for spec in PROGRAMMES:
        spec = dict(spec)
        stages = spec.pop("stages", [])
        if Program.objects.filter(code=spec["code"]).exists():
            continue
        program = Program.objects.create(**spec)
        for order, stage_spec in enumerate(stages, start=1):
            stage_spec = dict(stage_spec)
            tasks = stage_spec.pop("tasks", [])
            stage = Stage.objects.create(program=program, order=order, **stage_spec)
            for task_order, task in enumerate(tasks, start=1):
                Task.objects.create(stage=stage, order=task_order, **task)


class Migration(migrations.Migration):
    dependencies = [("coaching", "0001_initial")]

    operations = [migrations.RunPython(create_programmes, migrations.RunPython.noop)]
