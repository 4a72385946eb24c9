from django.urls import path

from . import views

app_name = "clusters"

urlpatterns = [
    path("", views.cluster_list, name="list"),
    path("<int:pk>/", views.cluster_detail, name="detail"),
    path("<int:pk>/confirm/", views.confirm, name="confirm"),
    path("<int:pk>/split/", views.split, name="split"),
    path("<int:pk>/merge/", views.merge, name="merge"),
    path("<int:pk>/remove/<int:order_pk>/", views.remove, name="remove"),
    path("<int:pk>/tasks/new/", views.open_task, name="open_task"),
    path("tasks/", views.task_list, name="tasks"),
    path("tasks/<int:pk>/", views.task_detail, name="task"),
    path("tasks/<int:pk>/volume.json", views.task_volume, name="task_volume"),
    path("tasks/<int:pk>/<str:to>/", views.task_move, name="task_move"),
]
