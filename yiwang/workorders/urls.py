from django.urls import path

from . import views

app_name = "workorders"

urlpatterns = [
    path("", views.home, name="home"),
    path("orders/", views.order_list, name="list"),
    path("orders/new/", views.order_new, name="new"),
    path("orders/caller-history/", views.caller_history, name="caller-history"),
    path("orders/similar/", views.similar_orders, name="similar"),
    path("queue/", views.dispatch_queue, name="queue"),
    path("inbox/", views.unit_inbox, name="inbox"),
    path("repeats/", views.repeat_calls, name="repeats"),
    path("orders/<int:pk>/", views.order_detail, name="detail"),
    path("orders/<int:pk>/<slug:action>/", views.order_action, name="action"),
]
