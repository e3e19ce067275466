"""URLs of the creator's growth-plan site."""

from django.urls import path

from . import staff_views, views

app_name = "coaching"

urlpatterns = [
    path("plan/", views.plan, name="plan"),
    path("plan/tasks/<id:task_id>/done", views.task_done, name="task_done"),
    path("plan/tasks/<id:task_id>/undo", views.task_undone, name="task_undo"),
    path("plan/lessons/<id:task_id>/", views.lesson, name="lesson"),
    path("plan/pools/<id:pool_id>/", views.pool, name="pool"),
    path("plan/pools/<id:pool_id>/products/<id:product_id>/pick", views.pick, name="pick"),
    path("plan/pools/<id:pool_id>/products/<id:product_id>/unpick", views.unpick, name="unpick"),
    path("plan/programmes/<id:program_id>/join", views.join, name="join"),
    path("plan/programmes/<id:program_id>/leave", views.leave, name="leave"),
    path("plan/review", views.review_request, name="review"),
    path("plan/notifications/", views.notification_list, name="notifications"),
    path("plan/notifications/read", views.notifications_read, name="notifications_read"),
    path("staff/creators/<id:influencer_id>/plan/", views.staff_plan, name="staff_plan"),
    path("staff/reviews/", staff_views.review_list, name="reviews"),
    path("staff/reviews/<id:review_id>/", staff_views.review_detail, name="review_detail"),
    path("staff/reviews/<id:review_id>/uphold", staff_views.review_uphold, name="review_uphold"),
    path("staff/reviews/<id:review_id>/override", staff_views.review_pin, name="review_override"),
]
