from django.apps import AppConfig


class KeapSandboxConfig(AppConfig):
    name = "keap_sandbox"
    verbose_name = "Keap sandbox"
