"""URL map of remission web."""

from django.contrib.auth import views as auth_views
from django.urls import path, re_path, register_converter

from remission.web import views


class SignedInt:
    """Days relative to infusion are negative before day 0."""

    regex = "-?[0-9]+"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(int(value))


register_converter(SignedInt, "day")

S = "study/<int:study_id>/"
P = S + "patient/<int:pk>/"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html",
                                                redirect_authenticated_user=True),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    re_path(r"^static/(?P<path>.+)$", views.static, name="static"),
    path("", views.home, name="home"),
    path("import/", views.import_study, name="import"),
    path(S, views.study_page, name="study"),
    path(S + "patient/new/", views.patient_form, name="patient_new"),
    path(S + "report/", views.report, name="report"),
    path(S + "report/<str:name>", views.report, name="report_file"),
    path(S + "export/", views.export, name="export"),
    path(S + "quality/", views.data_quality, name="quality"),
    path(S + "dashboard/", views.dashboard_page, name="dashboard"),
    path(P, views.patient_page, name="patient"),
    path(P + "edit/", views.patient_form, name="patient_edit"),
    path(P + "day/<day:day>/", views.bedside, name="bedside"),
    path(P + "day/<day:day>/grade/", views.bedside_grade, name="bedside_grade"),
    path(P + "audit/", views.audit_trail, name="audit"),
    path(P + "timeline/", views.timeline_page, name="timeline"),
    path(P + "signoff/", views.signoff, name="signoff"),
    path(P + "query/", views.raise_query, name="query"),
    path(P + "query/<int:qid>/answer/", views.answer_query, name="answer"),
    path(P + "<str:kind>/new/", views.record, name="record_new"),
    path(P + "<str:kind>/<int:rec_id>/", views.record, name="record_edit"),
    path(P + "<str:kind>/<int:rec_id>/retire/", views.retire, name="retire"),
]
