"""Ship the article's coaching as the default playbook (ops tune it in the admin)."""

from django.db import migrations

# Frozen here (a copy of coaching.playbook.DEFAULT_RULES when this was written), so this migration
# means the same thing forever.
DEFAULT_RULES = [{'code': 'raise_reputation',
  'priority': 90,
  'tiers': [],
  'types': [],
  'conditions': [{'feature': 'reputation', 'op': '<', 'value': 4.0}],
  'text_zh': '你的带货口碑分是{reputation}，低于{target_reputation}。晋级腰部、头部和参加平台扶持都要求口碑分不低于{target_reputation}：从商品品质、服务响应和售后三方面改进，把分数提上去。',
  'text_en': 'Your creator reputation score is {reputation}, below {target_reputation}. Promotion to mid or '
             "head and the platform's support programmes need at least {target_reputation}: improve product "
             'quality, service and after-sales to bring it up.',
  'targets': {'target_reputation': 4.0}},
 {'code': 'reduce_refunds',
  'priority': 85,
  'tiers': [],
  'types': [],
  'conditions': [{'feature': 'refund_rate', 'op': '>', 'value': 0.15}],
  'text_zh': '你的退款率是{refund_rate}，高于{target_refund_rate}。把好选品关、如实描述商品、及时发货和回复，把退款率降到{target_refund_rate}以下，这也会拉高你的带货口碑分。',
  'text_en': 'Your refund rate is {refund_rate}, above {target_refund_rate}. Choose products carefully, '
             'describe them honestly, ship and reply promptly to bring refunds under {target_refund_rate}; '
             'it lifts your reputation score too.',
  'targets': {'target_refund_rate': 0.15}},
 {'code': 'raise_short_video_share',
  'priority': 80,
  'tiers': [],
  'types': [],
  'conditions': [{'feature': 'gmv', 'op': '>', 'value': 0},
                 {'feature': 'short_video_storefront_share', 'op': '<', 'value': 0.2}],
  'text_zh': '把短视频和橱窗的成交占比从{short_video_storefront_share}提升到{target_share}：多发带货短视频，把主推商品常挂橱窗，卖货不止在直播时段。',
  'text_en': 'Raise the share of your sales from short videos and your storefront from '
             '{short_video_storefront_share} to {target_share}: post more selling videos and keep your best '
             'products in the storefront, so you sell beyond your live hours.',
  'targets': {'target_share': 0.25}},
 {'code': 'mix_live_sessions',
  'priority': 70,
  'tiers': [],
  'types': [],
  'conditions': [{'feature': 'only_big_live', 'op': '==', 'value': 1}],
  'text_zh': '这个周期你开播{live_days}天，其中大场{big_live_days}天，全是大场。试试大场+小场+日常场结合：大场冲销量，小场和日常场保持节奏，培养粉丝稳定的购买心智。',
  'text_en': 'You went live on {live_days} days this window and all {big_live_days} were big events. Mix '
             'big, small and daily sessions: big events for volume, small and daily ones to keep a rhythm, '
             'so your followers build a steadier habit of buying from you.',
  'targets': {}},
 {'code': 'deepen_vertical_expertise',
  'priority': 65,
  'tiers': [],
  'types': ['vertical'],
  'conditions': [{'feature': 'repeat_buyer_rate_change', 'op': '<', 'value': -0.03}],
  'text_zh': '你的复购率降到{repeat_buyer_rate}（较上个周期{repeat_buyer_rate_change}）。作为{top_category}垂类达人，加强专业内容（选品讲解、使用教程、行业知识）和售前售后服务，把老客留住。',
  'text_en': 'Your repeat-buyer rate fell to {repeat_buyer_rate} ({repeat_buyer_rate_change} on the previous '
             'window). As a {top_category} specialist, deepen your expert content (how you choose products, '
             'how-tos, trade know-how) and your service before and after the sale to keep your regular '
             'buyers.',
  'targets': {}},
 {'code': 'combine_content_with_seeding',
  'priority': 60,
  'tiers': [],
  'types': [],
  'conditions': [{'feature': 'entertainment_video_share', 'op': '>=', 'value': 0.6},
                 {'feature': 'short_video_storefront_share', 'op': '<', 'value': 0.3}],
  'text_zh': '你的视频有{entertainment_video_share}是娱乐内容，但短视频和橱窗只带来{short_video_storefront_share}的成交。两条路：提升专业度，做懂行的带货内容；或者内容+种草，在粉丝爱看的视频里自然带出商品。',
  'text_en': '{entertainment_video_share} of your videos are entertainment, yet short videos and your '
             'storefront bring only {short_video_storefront_share} of your sales. Either become more '
             'professional, with content that knows its products, or combine content with seeding: let '
             'products appear naturally in the videos your audience already enjoys.',
  'targets': {}},
 {'code': 'strengthen_persona',
  'priority': 55,
  'tiers': [],
  'types': ['persona', 'seeding'],
  'conditions': [{'feature': 'repeat_buyer_rate', 'op': '<', 'value': 0.2}],
  'text_zh': '你的复购率只有{repeat_buyer_rate}：内容实用，但粉丝记住的是商品，不是你。强化人设：固定开播时间和风格，多讲你自己的选品标准和使用体验，让粉丝因为信任你回购，把复购率提升到{target_repeat_buyer_rate}。',
  'text_en': 'Only {repeat_buyer_rate} of your buyers come back: your content is useful, but followers '
             'remember the products, not you. Strengthen your persona: keep a regular schedule and style, '
             'talk about how you choose and use products, and give followers a reason to buy from you again. '
             'Aim for {target_repeat_buyer_rate}.',
  'targets': {'target_repeat_buyer_rate': 0.25}},
 {'code': 'join_newcomer_village',
  'priority': 40,
  'tiers': ['tail', 'newcomer'],
  'types': [],
  'conditions': [],
  'text_zh': '加入达人新手村：跟着课程和任务学会选品、短视频带货和直播入门。这个周期你有{active_days}天在卖货，成交额{gmv}，完成新手村任务能帮你更快起步。',
  'text_en': 'Join the newcomer village: its lessons and tasks teach the basics of choosing products, '
             'selling through short videos and going live. You sold on {active_days} days this window for '
             '{gmv}; the village tasks will get you going faster.',
  'targets': {}},
 {'code': 'join_campaigns_and_product_pool',
  'priority': 40,
  'tiers': ['mid'],
  'types': [],
  'conditions': [],
  'text_zh': '你是腰部达人（成交额{gmv}，粉丝{followers}）。报名平台营销活动拿流量扶持，再从快分销货盘里挑佣金合适的商品，扩充你的货盘。',
  'text_en': "As a mid creator ({gmv} in sales, {followers} followers), sign up for the platform's marketing "
             'campaigns for traffic support, and pick products with good commission from the distribution '
             'product pool to widen your range.',
  'targets': {}},
 {'code': 'work_with_account_manager',
  'priority': 40,
  'tiers': ['head'],
  'types': [],
  'conditions': [],
  'text_zh': '你是头部达人（成交额{gmv}，粉丝{followers}）。和你的专属客户经理一起定制经营方案：大促排期、独家货品和流量资源。',
  'text_en': 'As a head creator ({gmv} in sales, {followers} followers), plan with your dedicated account '
             'manager: your big-sale calendar, exclusive products and traffic support.',
  'targets': {}}]


def create_playbook(apps, schema_editor):
    PlaybookRule = apps.get_model("coaching", "PlaybookRule")
    for rule in DEFAULT_RULES:
        PlaybookRule.objects.get_or_create(code=rule["code"], defaults={k: v for k, v in rule.items() if k != "code"})


class Migration(migrations.Migration):
    dependencies = [("coaching", "0002_default_programmes")]

    operations = [migrations.RunPython(create_playbook, migrations.RunPython.noop)]
